// Package testutil opens real databases for tests: a fresh SQLite file in the
// test's temporary directory, and a fresh schema in the PostgreSQL test
// database, each migrated and removed when the test ends.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-platform/rampart/internal/store"
)

// PostgresURLEnv names the variable that points tests at PostgreSQL.
const PostgresURLEnv = "RAMPART_TEST_POSTGRES_URL"

// DefaultPostgresURL is the test database on this kind of machine (and CI's).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the base URL of the PostgreSQL test database.
func PostgresURL() string {
	if v := os.Getenv(PostgresURLEnv); v != "" {
		return v
	}
	return DefaultPostgresURL
}

// Dialects lists the databases every store-backed test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// ForEachDB runs fn as a subtest on a fresh, migrated database of each dialect.
func ForEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, OpenDB(t, d))
		})
	}
}

// OpenDB opens a fresh, migrated database of the given dialect. PostgreSQL
// being unreachable fails the test: the suite never silently skips it.
func OpenDB(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	var opts store.Options
	switch d {
	case store.SQLite:
		opts.SQLitePath = filepath.Join(t.TempDir(), "rampart.db")
	case store.Postgres:
		opts.PostgresURL = FreshPostgresSchema(t)
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// FreshPostgresSchema creates an empty schema with a random name and returns
// a URL whose connections use it; the schema is dropped after the test.
func FreshPostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		t.Fatalf("PostgreSQL test database unreachable at %s (set %s): %v", store.RedactURL(base), PostgresURLEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "rt_" + hex.EncodeToString(b[:])
	// The name is generated here from hex digits only, never from input.
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
