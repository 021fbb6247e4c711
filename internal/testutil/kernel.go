package testutil

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// Kernel is what domain services stand on: a root key, the key manager and
// the audit log, over one test database.
type Kernel struct {
	Root  *keys.LocalRootKey
	Keys  *keys.Manager
	Audit *audit.Log
}

// NewKernel makes a fresh root key in the test's temporary directory and
// the key manager and audit log on db, all on the given clock.
func NewKernel(t testing.TB, db *store.DB, now func() time.Time) Kernel {
	t.Helper()
	root, err := keys.OpenLocalRootKey(filepath.Join(t.TempDir(), "root.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(context.Background(), db, root, now)
	if err != nil {
		t.Fatal(err)
	}
	return Kernel{Root: root, Keys: keys.New(db, root, now), Audit: audit.New(signer, now, audit.Options{CheckpointEvery: 100})}
}

// CreateOrg inserts an organization with its keysets.
func (k Kernel) CreateOrg(t testing.TB, db *store.DB, id, slug string) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)", id, slug, slug, 1); err != nil {
			return err
		}
		return k.Keys.Create(ctx, tx, id)
	})
	if err != nil {
		t.Fatalf("create organization %s: %v", id, err)
	}
}
