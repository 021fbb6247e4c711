package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/secrets"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// Data is an open Rampart instance without its network side: what every
// sub-command that touches data needs.
type Data struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *store.DB
	Root     keys.RootKey
	Keys     *keys.Manager
	Audit    *audit.Log
	Identity *identity.Service
	Records  *records.Service
	Files    *files.Service
	Secrets  *secrets.Service
	OIDC     *oidc.Provider
	Now      func() time.Time

	// Tombstones copies destruction records (deleted organizations,
	// revoked credentials) out of the database for restores; nil or
	// tombstone.Nop when no backup target is configured.
	Tombstones tombstone.Publisher
	// orgPurgers delete an organization's data kept outside the database
	// (file blobs in S3) after its deletion committed.
	orgPurgers []func(ctx context.Context, org string) error
}

// OpenMode says whether OpenData may create a new instance.
type OpenMode int

// Open modes.
const (
	// CreateIfMissing makes the data directory, root key and schema on
	// first use (serve, migrate).
	CreateIfMissing OpenMode = iota
	// MustExist refuses to start a new instance by accident (keys, audit,
	// admin commands pointed at a wrong --data-dir).
	MustExist
)

// OpenData opens (or with CreateIfMissing, creates) the instance that cfg
// describes and brings its schema up to date.
func OpenData(ctx context.Context, cfg config.Config, log *slog.Logger, mode OpenMode) (*Data, error) {
	const op = "app.OpenData"
	now := time.Now
	params := passwordParams(cfg)
	// Checked before anything is created: a bad setting leaves no trace.
	if err := params.Validate(); err != nil {
		return nil, errs.E(errs.Invalid, op, "passwords.*: "+errs.SafeMessage(err))
	}
	if keys.EncryptionDisabled && os.Getenv("BENCH_RAMPART_NOENCRYPT") != "yes-store-data-in-clear" {
		// The benchmark-only build stores tenant data in clear.
		return nil, errs.E(errs.Invalid, op, "this binary was built with -tags rampart_noencrypt for benchmarks and stores data "+
			"unencrypted; set BENCH_RAMPART_NOENCRYPT=yes-store-data-in-clear to run it, and never deploy it")
	}
	if err := prepareDataDir(cfg, mode); err != nil {
		return nil, err
	}
	root, err := openRootKey(cfg, mode)
	if err != nil {
		return nil, err
	}
	opts := store.Options{}
	if cfg.IsPostgres() {
		opts.PostgresURL = cfg.DatabaseURL
	} else {
		opts.SQLitePath = cfg.SQLitePath()
		if mode == MustExist {
			if _, err := os.Stat(opts.SQLitePath); err != nil {
				return nil, errs.E(errs.NotFound, op, fmt.Sprintf("no Rampart database at %s (is --data-dir right?)", opts.SQLitePath), err)
			}
		}
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	for _, m := range applied {
		log.Info("applied database migration", "version", m.Version, "source", m.Source)
	}
	signer, err := audit.LoadSigner(ctx, db, root, now)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	d := &Data{
		Config: cfg,
		Log:    log,
		DB:     db,
		Root:   root,
		Keys:   keys.New(db, root, now),
		Audit:  audit.New(signer, now, audit.Options{CheckpointEvery: int64(cfg.Audit.CheckpointEvery)}),
		Now:    now,
	}
	// Bound concurrent argon2id work (default 2 per core) so a login flood
	// cannot exhaust memory: MemoryBound() = that many times memory_kib.
	maxHashes := cfg.Passwords.MaxConcurrent
	if maxHashes <= 0 {
		maxHashes = 2 * runtime.NumCPU()
	}
	hasher := password.NewHasher(params, maxHashes)
	mailer, err := newMailer(cfg, log, now)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	d.Identity = identity.New(db, d.Keys, d.Audit, hasher, lockout.NewMemory(now, 100_000), mailer, log, now,
		identity.Config{PublicURL: cfg.EffectivePublicURL(), SessionIdle: cfg.Sessions.IdleTimeout, SessionLifetime: cfg.Sessions.Lifetime})
	d.Records = records.New(db, d.Keys, d.Audit, now)
	if d.Files, err = openFiles(ctx, cfg, d); err != nil { // internal/app/files.go
		_ = db.Close()
		return nil, err
	}
	d.Secrets = secrets.New(db, d.Keys, d.Audit, dataTombstones{d}, log, now)
	if err := openOIDC(d); err != nil {
		_ = db.Close()
		return nil, err
	}
	// Deletions and revocations are copied to the backup target as they
	// happen, so that restoring an older backup destroys them again.
	if d.Tombstones, err = backup.NewPublisher(cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

// passwordParams turns the passwords.* settings into argon2id parameters.
func passwordParams(cfg config.Config) password.Params {
	p := password.DefaultParams()
	// The config layer bounds each value, so these conversions are exact.
	p.Memory = uint32(cfg.Passwords.MemoryKiB)   // #nosec G115 -- config bounds it to 7168..4194304
	p.Time = uint32(cfg.Passwords.Iterations)    // #nosec G115 -- config bounds it to 1..100
	p.Threads = uint8(cfg.Passwords.Parallelism) // #nosec G115 -- config bounds it to 1..255
	return p
}

// newMailer returns the SMTP sender that smtp.* describes or, when
// smtp.host is empty, the outbox that writes .eml files into
// <data_dir>/outbox, so that a new instance's invitations and reset links
// can be followed without a mail server.
func newMailer(cfg config.Config, log *slog.Logger, now func() time.Time) (mail.Sender, error) {
	const op = "app.newMailer"
	if cfg.SMTP.Host == "" {
		return mail.NewOutbox(cfg.OutboxDir(), cfg.Mail.From, log, now)
	}
	if err := checkSMTP(cfg); err != nil {
		return nil, err
	}
	sc := mail.SMTPConfig{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		From: cfg.Mail.From, TLSMode: cfg.SMTP.TLSMode,
	}
	if cfg.SMTP.CAFile != "" {
		pemBytes, err := os.ReadFile(cfg.SMTP.CAFile) // #nosec G304 -- the CA file named by the operator's configuration
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in the message already
			}
			return nil, errs.E(errs.Invalid, op, fmt.Sprintf("smtp.ca_file (RAMPART_SMTP_CA_FILE): cannot read %s: %v", cfg.SMTP.CAFile, err), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errs.E(errs.Invalid, op, "smtp.ca_file (RAMPART_SMTP_CA_FILE): "+cfg.SMTP.CAFile+" holds no PEM certificate")
		}
		sc.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return mail.NewSMTP(sc, log)
}

// Close waits for mails still being sent, signs a checkpoint over every
// chain with unsigned entries (so what a CLI command or a stopping server
// appended is sealed) and closes the database cleanly.
func (d *Data) Close() error {
	// Password-reset mails leave after their request was answered; let
	// them go out before the process ends.
	d.Identity.WaitForMail()
	if _, err := d.Audit.CheckpointAll(context.Background(), d.DB); err != nil {
		d.Log.Warn("final audit checkpoint failed", "err", err)
	}
	return d.DB.Close()
}

// prepareDataDir makes sure the data directory exists with owner-only
// permissions, creating it only in CreateIfMissing mode.
func prepareDataDir(cfg config.Config, mode OpenMode) error {
	const op = "app.prepareDataDir"
	fi, err := os.Stat(cfg.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && mode == CreateIfMissing:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return errs.E(errs.Invalid, op, "data_dir: cannot create "+cfg.DataDir, err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return errs.E(errs.NotFound, op, "data_dir: "+cfg.DataDir+" does not exist (is --data-dir right? `rampart serve` or `rampart migrate` creates it)")
	case err != nil:
		return errs.E(errs.Invalid, op, "data_dir: cannot use "+cfg.DataDir, err)
	case !fi.IsDir():
		return errs.E(errs.Invalid, op, "data_dir: "+cfg.DataDir+" is not a directory")
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// The directory holds the root key and the database: tighten it.
		if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
			return errs.E(errs.Invalid, op, "data_dir: cannot restrict permissions of "+cfg.DataDir, err)
		}
	}
	return nil
}

func openRootKey(cfg config.Config, mode OpenMode) (keys.RootKey, error) {
	switch cfg.Keys.Provider {
	case "local", "":
		return keys.OpenLocalRootKey(cfg.RootKeyPath(), mode == CreateIfMissing)
	default:
		return nil, errs.E(errs.Invalid, "app.openRootKey", "keys.provider: unknown provider "+cfg.Keys.Provider)
	}
}

// checkSMTP reports, all at once, the rules that tie smtp.* settings
// together; mail.NewSMTP checks them too, but its wording puts a colon
// after "smtp.password", which the CLI's redactor takes for a secret and
// hides. Here each problem names its settings and environment variables.
func checkSMTP(cfg config.Config) error {
	s := cfg.SMTP
	var problems []string
	if (s.Username == "") != (s.Password == "") {
		problems = append(problems, "smtp.username (RAMPART_SMTP_USERNAME) and smtp.password (RAMPART_SMTP_PASSWORD) "+
			"must be set together, or neither")
	}
	if s.TLSMode == mail.TLSModeNone {
		if ip := net.ParseIP(s.Host); !strings.EqualFold(s.Host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			problems = append(problems, fmt.Sprintf("smtp.tls_mode (RAMPART_SMTP_TLS_MODE): %q is only allowed with a loopback "+
				"smtp.host (localhost, 127.0.0.1, ::1), not %q", s.TLSMode, s.Host))
		}
		if s.Username != "" || s.Password != "" {
			problems = append(problems, fmt.Sprintf("smtp.tls_mode (RAMPART_SMTP_TLS_MODE): %q cannot be combined with a login "+
				"(smtp.username, smtp.password), which is never sent in clear text", s.TLSMode))
		}
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return errs.E(errs.Invalid, "app.checkSMTP", "invalid configuration: "+problems[0])
	}
	return errs.E(errs.Invalid, "app.checkSMTP", fmt.Sprintf("invalid configuration (%d problems):\n%s", len(problems), strings.Join(problems, "\n")))
}

// dataTombstones publishes through d.Tombstones as it is when a secret is
// revoked, so a backup target configured after OpenData is used too.
type dataTombstones struct{ d *Data }

// Publish implements tombstone.Publisher.
func (p dataTombstones) Publish(ctx context.Context, t tombstone.Tombstone) error {
	if p.d.Tombstones == nil {
		return nil
	}
	return p.d.Tombstones.Publish(ctx, t)
}
