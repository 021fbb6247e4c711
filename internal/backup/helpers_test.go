package backup_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

var ctx = context.Background()

// fixture is a live instance on one database: root key file, keys, audit
// log and records, with the Source a backup of it needs.
type fixture struct {
	dialect  store.Dialect
	db       *store.DB
	src      backup.Source
	rootFile string
	root     *keys.LocalRootKey
	keys     *keys.Manager
	audit    *audit.Log
	records  *records.Service
	now      func() time.Time
}

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	f := &fixture{dialect: d, now: time.Now}
	var opts store.Options
	switch d {
	case store.SQLite:
		opts.SQLitePath = filepath.Join(t.TempDir(), "rampart.db")
		f.src.SQLitePath = opts.SQLitePath
	case store.Postgres:
		opts.PostgresURL = testutil.FreshPostgresSchema(t)
		f.src.PostgresURL = opts.PostgresURL
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f.db, f.src.DB = db, db
	f.rootFile = filepath.Join(t.TempDir(), "root.key")
	if f.root, err = keys.OpenLocalRootKey(f.rootFile, true); err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(ctx, db, f.root, f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys.New(db, f.root, f.now)
	f.audit = audit.New(signer, f.now, audit.Options{CheckpointEvery: 50})
	f.records = records.New(db, f.keys, f.audit, f.now)
	return f
}

// org creates an organization with a (plaintext) display name, a
// collection "notes" and returns its owner.
func (f *fixture) org(t *testing.T, id, name string) authz.Principal {
	t.Helper()
	err := f.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)", id, id, name, 1); err != nil {
			return err
		}
		if err := f.keys.Create(ctx, tx, id); err != nil {
			return err
		}
		_, err := f.audit.Append(ctx, tx, audit.Event{Org: id, Actor: "test", Action: "org.create", Target: "org:" + id})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := authz.Principal{UserID: "owner-" + id, OrgID: id, Kind: authz.KindUser, Roles: []authz.Role{{Name: authz.RoleOwner, Builtin: true}}}
	if _, err := f.records.CreateCollection(ctx, p, records.CollectionSpec{Name: "notes"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) record(t *testing.T, p authz.Principal, v map[string]any) records.Record {
	t.Helper()
	b, _ := json.Marshal(v)
	r, err := f.records.Create(ctx, p, "notes", b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func dirTarget(t *testing.T) (*backup.DirTarget, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backups")
	tg, err := backup.NewDirTarget(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tg, dir
}

// orgApplier shreds the organization's keysets only (the application's
// applier, app.Data.TombstoneAppliers, also deletes its rows): enough for
// this package's tests, whose instances hold no tenant rows to purge.
func orgApplier(km *keys.Manager) backup.Applier {
	return func(ctx context.Context, tx *store.Tx, t tombstone.Tombstone) error {
		return km.Shred(ctx, tx, t.Org)
	}
}
