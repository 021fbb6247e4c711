package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// OutboxSender writes each message as an .eml file into a directory instead
// of sending it: the embedded default, where no mail server is configured.
// It is safe for concurrent use.
type OutboxSender struct {
	dir  string
	from *netmail.Address
	log  *slog.Logger
	now  func() time.Time
}

var _ Sender = (*OutboxSender)(nil)

// NewOutbox returns a sender that writes into dir, creating it with mode
// 0700 (an existing directory open to group or others is narrowed to 0700:
// its files hold live reset and invite links). from is the From address; log
// may be nil (nothing is logged) and now may be nil (time.Now).
// Errors: errs.Invalid for a bad argument, errs.Unavailable when dir cannot
// be created.
func NewOutbox(dir string, from string, log *slog.Logger, now func() time.Time) (*OutboxSender, error) {
	const op = "mail.NewOutbox"
	var p problems
	if dir == "" {
		p.addf("outbox directory: required")
	}
	fromAddr := parseAddress(&p, "from", from)
	if err := p.err(op); err != nil {
		return nil, err
	}
	if err := prepareDir(dir); err != nil {
		return nil, errs.E(op, errs.Unavailable, "cannot prepare the mail outbox directory", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &OutboxSender{dir: dir, from: fromAddr, log: log, now: now}, nil
}

// prepareDir creates dir with mode 0700, or narrows an existing one to 0700.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(dir, 0o700) // #nosec G302 -- a directory needs its x bit; 0700 is owner-only
	}
	return nil
}

// Send writes m as <unix-nanos>-<kind>-<random>.eml (mode 0600) into the
// outbox directory and logs the recipient, kind, subject and file path,
// never the body or the link. The file appears complete or not at all.
// Errors: errs.Invalid when m breaks a rule, errs.Unavailable when ctx has
// ended or the file cannot be written.
func (o *OutboxSender) Send(ctx context.Context, m Message) error {
	const op = "mail.OutboxSender.Send"
	to, err := checkMessage(op, m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return errs.E(op, errs.Unavailable, "mail not written: the request ended", err)
	}
	now := o.now()
	raw := compose(o.from, to, m, now)

	var suffix [8]byte
	_, _ = rand.Read(suffix[:]) // never fails (crypto/rand since Go 1.24)
	// Kind is checked to be [a-z0-9_]+, so the name cannot leave the directory.
	name := fmt.Sprintf("%d-%s-%s.eml", now.UnixNano(), m.Kind, hex.EncodeToString(suffix[:]))
	path, err := writeFileAtomic(o.dir, name, raw)
	if err != nil {
		return errs.E(op, errs.Unavailable, "cannot write the mail to the outbox", err)
	}
	o.log.InfoContext(ctx, "mail written to outbox",
		slog.String("to", to.Address),
		slog.String("kind", m.Kind),
		slog.String("subject", m.Subject),
		slog.String("path", path))
	return nil
}

// writeFileAtomic writes data to dir/name through a temporary file in the
// same directory (created 0600), synced and then renamed, so a reader never
// sees a partial message. It returns the final path.
func writeFileAtomic(dir, name string, data []byte) (path string, err error) {
	// The temporary name does not end in .eml: a tool watching the outbox
	// for *.eml only ever sees finished files.
	f, err := os.CreateTemp(dir, ".outbox-*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	path = filepath.Join(dir, name)
	if err = os.Rename(tmp, path); err != nil {
		return "", err
	}
	syncDir(dir)
	return path, nil
}

// syncDir makes a rename in dir durable. It is best effort: some platforms
// and file systems cannot sync a directory, and the file itself is already
// complete on disk.
func syncDir(dir string) {
	d, err := os.Open(dir) // #nosec G304 -- dir is the outbox directory given by the operator's configuration
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
