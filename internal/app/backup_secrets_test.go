package app

import (
	"context"
	"encoding/json"
	"testing"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/secrets"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func TestSecretRevokedAfterTheBackupIsDestroyedAgainOnRestore(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, cfg, id := liveInstance(t, dialect)
			pub, err := backup.NewPublisher(cfg)
			if err != nil {
				t.Fatal(err)
			}
			d.Tombstones = pub // as the server wires it
			o, err := d.CreateOrganization(bctx, "test", "Vault", "vault")
			if err != nil {
				t.Fatal(err)
			}
			s, err := d.Secrets.Create(bctx, ownerOf(o.ID), secrets.Spec{Name: "payroll", Type: secrets.Password, Value: json.RawMessage(`"payroll-pw-1"`)})
			if err != nil {
				t.Fatal(err)
			}
			kept, err := d.Secrets.Create(bctx, ownerOf(o.ID), secrets.Spec{Name: "kept", Type: secrets.Password, Value: json.RawMessage(`"kept-pw-2"`)})
			if err != nil {
				t.Fatal(err)
			}
			info, err := d.CreateBackup(bctx, "test", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Secrets.Revoke(bctx, ownerOf(o.ID), s.ID); err != nil {
				t.Fatal(err)
			}
			dir, dbURL := restoreTarget(t, dialect)
			res, err := RestoreBackup(bctx, cfg, quietLog(), info.ID, []age.Identity{id}, dir, dbURL, nil)
			if err != nil || res.Tombstones != 1 {
				t.Fatalf("restore: %+v, %v", res, err)
			}
			r, err := OpenData(bctx, RestoredConfig(cfg, dir, dbURL), quietLog(), MustExist)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			destroyed := func(sid string) bool {
				var gone bool
				_ = r.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
					return tx.QueryRow(ctx, "SELECT ciphertext IS NULL FROM secrets WHERE id = ?", sid).Scan(&gone)
				})
				return gone
			}
			if !destroyed(s.ID) {
				t.Error("the secret revoked after the backup has its value again after the restore")
			}
			if destroyed(kept.ID) {
				t.Error("a secret that was not revoked lost its value")
			}
		})
	}
}
