package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Target stores backup objects. Names are slash-separated paths relative to
// the target ("backups/<id>.age", "tombstones/org-....json").
type Target interface {
	// Put stores everything r yields under name, atomically: until Put
	// returns nil, List does not show name and Open does not find it (or
	// finds the previous complete version). It returns the bytes stored.
	Put(ctx context.Context, name string, r io.Reader) (int64, error)
	// Open reads a complete object; errs.NotFound when there is none.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names of the complete objects under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes an object; a missing object is not an error.
	Delete(ctx context.Context, name string) error
	// String names the target for messages (never with credentials).
	String() string
}

// tempPrefix starts the name of a file being written to a DirTarget; such
// files are never listed.
const tempPrefix = ".tmp-"

// DirTarget is a Target on a local or mounted directory. It should be on
// another disk than the data directory: a backup on the same disk dies with it.
type DirTarget struct {
	root string
}

var _ Target = (*DirTarget)(nil)

// NewDirTarget returns a target on dir. The directory is created (0700)
// by the first write, not here: listing a directory that does not exist
// (a mistyped --data-dir) shows no backups and leaves nothing behind.
func NewDirTarget(dir string) (*DirTarget, error) {
	if dir == "" {
		return nil, errs.E(errs.Invalid, "backup.NewDirTarget", "backup.target: no directory given")
	}
	return &DirTarget{root: dir}, nil
}

// SameTreeAs reports whether the target lies inside dir (the default
// <data_dir>/backups does): such backups share the data directory's disk
// and die with it.
func (d *DirTarget) SameTreeAs(dir string) bool {
	a, err1 := filepath.Abs(d.root)
	b, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(b, a)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (d *DirTarget) String() string { return d.root }

// path turns a slash name into a file path, refusing names that would leave
// the directory.
func (d *DirTarget) path(name string) (string, error) {
	clean := path.Clean("/" + name)[1:]
	if clean == "" || clean != name || strings.HasPrefix(path.Base(clean), tempPrefix) {
		return "", errs.E(errs.Invalid, "backup.DirTarget", "invalid object name "+name)
	}
	return filepath.Join(d.root, filepath.FromSlash(clean)), nil
}

// Put writes to a temporary file in the same directory, syncs it, renames
// it into place and syncs the directory, so a crash leaves either nothing
// or the whole object.
func (d *DirTarget) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	const op = "backup.DirTarget.Put"
	p, err := d.path(name)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, errs.E(errs.Unavailable, op, "cannot create "+dir, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- a name made here inside the target
	if err != nil {
		return 0, errs.E(errs.Unavailable, op, "cannot write to backup target "+d.root, err)
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		if k := errs.KindOf(err); k != errs.Other {
			return 0, err
		}
		return 0, errs.E(errs.Unavailable, op, "cannot write "+name+" to backup target "+d.root, err)
	}
	_ = syncDir(dir)
	return n, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir) // #nosec G304 -- the target directory
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Open implements Target.
func (d *DirTarget) Open(_ context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p) // #nosec G304 -- checked to stay inside the target
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(errs.NotFound, "backup.DirTarget.Open", "no "+name+" in backup target "+d.root)
	}
	if err != nil {
		return nil, errs.E(errs.Unavailable, "backup.DirTarget.Open", "cannot read "+name+" from backup target "+d.root, err)
	}
	return f, nil
}

// List implements Target.
func (d *DirTarget) List(_ context.Context, prefix string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
		return nil
	})
	if err != nil {
		return nil, errs.E(errs.Unavailable, "backup.DirTarget.List", "cannot list backup target "+d.root, err)
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements Target.
func (d *DirTarget) Delete(_ context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.Unavailable, "backup.DirTarget.Delete", "cannot delete "+name+" from backup target "+d.root, err)
	}
	return nil
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
