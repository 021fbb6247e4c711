package store

import (
	"context"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

	"github.com/rampart-platform/rampart/internal/errs"
)

// The schema is versioned SQL per dialect; the two folders carry the same
// version numbers and the same tables.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// MigrationResult describes one applied migration.
type MigrationResult struct {
	Version int64
	Source  string
}

func (db *DB) provider() (*goose.Provider, error) {
	dir := "migrations/sqlite"
	dialect := database.DialectSQLite3
	var opts []goose.ProviderOption
	if db.dialect == Postgres {
		dir = "migrations/postgres"
		dialect = database.DialectPostgres
		// Several app nodes may start at once: a session advisory lock
		// lets exactly one of them migrate.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.write, sub, opts...)
}

// Migrate applies every pending migration and returns those it applied.
func (db *DB) Migrate(ctx context.Context) ([]MigrationResult, error) {
	const op = "store.Migrate"
	p, err := db.provider()
	if err != nil {
		return nil, errs.E(op, err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "applying migrations failed", err)
	}
	out := make([]MigrationResult, 0, len(res))
	for _, r := range res {
		out = append(out, MigrationResult{Version: r.Source.Version, Source: r.Source.Path})
	}
	return out, nil
}

// SchemaVersion returns the current and the newest known schema versions.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, errs.E("store.SchemaVersion", err)
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, errs.E(errs.Unavailable, "store.SchemaVersion", "cannot read schema version", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return current, latest, nil
}
