package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
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
	Now      func() time.Time
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
	// Bound concurrent argon2id work: 2 per core keeps a login flood from
	// exhausting memory (MemoryBound() = that many times 19 MiB).
	hasher := password.NewHasher(password.DefaultParams(), 2*runtime.NumCPU())
	d.Identity = identity.New(db, d.Keys, d.Audit, hasher, lockout.NewMemory(now, 100_000), now, identity.Config{})
	return d, nil
}

// Close closes the database cleanly.
func (d *Data) Close() error { return d.DB.Close() }

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
