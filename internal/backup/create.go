package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/errs"
)

// CreateOptions tunes Create.
type CreateOptions struct {
	// Version is the Rampart version written into the manifest.
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TempDir holds the snapshot while it is archived (default: the
	// system's temporary directory). It needs room for one copy of the
	// database.
	TempDir string
	// Progress, when set, is called with the number of archive bytes
	// written since its previous call.
	Progress func(n int64)
	// Tombstones lists what to republish to the target with this backup
	// (default: DefaultTombstoneSources).
	Tombstones []TombstoneSource
}

// ErrNoRecipients explains how to configure recipients; Create returns it
// when none were given.
var ErrNoRecipients = errs.E(errs.Invalid, "backup.Create",
	"no backup recipients: set backup.recipients (RAMPART_BACKUP_RECIPIENTS) or pass --recipient age1...; `rampart backup keygen` makes a key pair")

// Create takes a consistent snapshot of src, writes it encrypted to the
// recipients into t, republishes every tombstone src holds, and then lists
// the backup. Nothing is listed if any step fails.
func Create(ctx context.Context, src Source, t Target, recipients []age.Recipient, opts CreateOptions) (Info, error) {
	const op = "backup.Create"
	if len(recipients) == 0 {
		return Info{}, ErrNoRecipients
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	created := now().UTC().Truncate(time.Second)
	m := Manifest{Format: FormatVersion, ID: NewID(created), CreatedAt: created, RampartVersion: opts.Version}
	spool, err := makeTempDir(opts.TempDir, "rampart-backup-")
	if err != nil {
		return Info{}, err
	}
	defer os.RemoveAll(spool)
	files, err := snapshot(ctx, src, spool, &m)
	if err != nil {
		return Info{}, err
	}
	for _, f := range files {
		m.Members = append(m.Members, f.Member)
	}

	// The archive streams from the writer goroutine through a pipe into the
	// target: nothing holds the whole database in memory.
	pr, pw := io.Pipe()
	h := sha256.New()
	counted := &countWriter{w: io.MultiWriter(pw, h)}
	werr := make(chan error, 1)
	go func() {
		var w io.Writer = counted
		if opts.Progress != nil {
			w = io.MultiWriter(w, progressWriter(opts.Progress))
		}
		err := writeArchive(w, recipients, m, files)
		_ = pw.CloseWithError(err)
		werr <- err
	}()
	stored, err := t.Put(ctx, archiveName(m.ID), pr)
	_ = pr.CloseWithError(errs.E(op, "upload stopped"))
	if wErr := <-werr; wErr != nil && err == nil {
		err = wErr
	} else if wErr != nil && errs.KindOf(wErr) != errs.Other {
		err = wErr // the writer's own error explains the upload's
	}
	if err == nil && stored != counted.n {
		err = errs.E(errs.Unavailable, op, fmt.Sprintf("backup target %s stored %d of %d bytes", t, stored, counted.n))
	}
	if err != nil {
		_ = t.Delete(context.WithoutCancel(ctx), archiveName(m.ID))
		return Info{}, err
	}
	info := Info{ID: m.ID, CreatedAt: created, Size: counted.n, SHA256: hex.EncodeToString(h.Sum(nil)), Dialect: m.Dialect,
		SchemaVersion: m.SchemaVersion, RampartVersion: m.RampartVersion, Rows: m.Rows(), Recipients: len(recipients)}
	sources := opts.Tombstones
	if sources == nil {
		sources = DefaultTombstoneSources()
	}
	if src.DB != nil {
		if _, err := RepublishTombstones(ctx, src.DB, t, sources); err != nil {
			_ = t.Delete(context.WithoutCancel(ctx), archiveName(m.ID))
			return Info{}, err
		}
	}
	// Listed last: a backup is visible only once all of it is stored.
	if err := putJSON(ctx, t, listingName(m.ID), info); err != nil {
		_ = t.Delete(context.WithoutCancel(ctx), archiveName(m.ID))
		return Info{}, err
	}
	return info, nil
}

type progressWriter func(n int64)

func (p progressWriter) Write(b []byte) (int, error) { p(int64(len(b))); return len(b), nil }

// makeTempDir makes a private (0700) temporary directory.
func makeTempDir(parent, pattern string) (string, error) {
	d, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", errs.E(errs.Unavailable, "backup.makeTempDir", "cannot create a temporary directory", err)
	}
	if err := os.Chmod(d, 0o700); err != nil {
		_ = os.RemoveAll(d)
		return "", errs.E("backup.makeTempDir", err)
	}
	return d, nil
}

func putJSON(ctx context.Context, t Target, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return errs.E("backup.putJSON", err)
	}
	_, err = t.Put(ctx, name, bytes.NewReader(append(b, '\n')))
	return err
}

func getJSON(ctx context.Context, t Target, name string, v any) error {
	r, err := t.Open(ctx, name)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return errs.E(errs.Unavailable, "backup.getJSON", "cannot read "+name+" from backup target "+t.String(), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errs.E(errs.Integrity, "backup.getJSON", name+" in backup target "+t.String()+" is not valid JSON", err)
	}
	return nil
}

// List returns every complete backup in t, oldest first, each with its
// newest verification result.
func List(ctx context.Context, t Target) ([]Info, error) {
	names, err := t.List(ctx, backupsDir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var out []Info
	for _, n := range names {
		id, ok := strings.CutSuffix(strings.TrimPrefix(n, backupsDir), ".json")
		if !ok || !ValidID(id) {
			continue // not a listing object (the archive, a verification)
		}
		var info Info
		if err := getJSON(ctx, t, n, &info); err != nil {
			return nil, err
		}
		if info.ID != id {
			return nil, errs.E(errs.Integrity, "backup.List", "listing "+n+" names another backup ("+info.ID+")")
		}
		info.Verified = nil
		if have[verificationName(id)] {
			var v Verification
			if err := getJSON(ctx, t, verificationName(id), &v); err == nil {
				info.Verified = &v
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Find returns the listing of backup id.
func Find(ctx context.Context, t Target, id string) (Info, error) {
	if !ValidID(id) {
		return Info{}, errs.E(errs.Invalid, "backup.Find", "\""+id+"\" is not a backup id (see `rampart backup list`)")
	}
	var info Info
	if err := getJSON(ctx, t, listingName(id), &info); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return Info{}, errs.E(errs.NotFound, "backup.Find", "no backup "+id+" in "+t.String()+" (see `rampart backup list`)")
		}
		return Info{}, err
	}
	return info, nil
}

// Newest returns the newest backup in t.
func Newest(ctx context.Context, t Target) (Info, error) {
	all, err := List(ctx, t)
	if err != nil {
		return Info{}, err
	}
	if len(all) == 0 {
		return Info{}, errs.E(errs.NotFound, "backup.Newest", "no backup in "+t.String()+" (run `rampart backup create`)")
	}
	return all[len(all)-1], nil
}
