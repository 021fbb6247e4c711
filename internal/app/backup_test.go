package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

var bctx = context.Background()

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// liveInstance opens a new instance on dialect d whose backups go to a
// directory of the test, encrypted to the returned identity.
func liveInstance(t *testing.T, d store.Dialect) (*Data, config.Config, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	if d == store.Postgres {
		cfg.DatabaseURL = testutil.FreshPostgresSchema(t)
	}
	cfg.Backup.Target = filepath.Join(t.TempDir(), "backups")
	cfg.Backup.Recipients = []string{id.Recipient().String()}
	cfg.Passwords.MemoryKiB, cfg.Passwords.Iterations = 7168, 5
	data, err := OpenData(bctx, cfg, quietLog(), CreateIfMissing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = data.Close() })
	return data, cfg, id
}

// restoreTarget is where a restore of dialect d goes.
func restoreTarget(t *testing.T, d store.Dialect) (dir, dbURL string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "restored")
	if d == store.Postgres {
		dbURL = testutil.FreshPostgresSchema(t)
	}
	return dir, dbURL
}

func ownerOf(org string) authz.Principal {
	return authz.Principal{UserID: "owner-" + org, OrgID: org, Kind: authz.KindUser, Roles: []authz.Role{{Name: authz.RoleOwner, Builtin: true}}}
}

func TestBackupWhileServingThenRestoreIntoANewInstance(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, cfg, id := liveInstance(t, dialect)
			const orgName, email, value = "Known Org Name GmbH", "known.person@known-org.example", "known-record-value-5c1e"
			org, err := d.CreateOrganization(bctx, "test", orgName, "known")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Identity.CreateUserAsOperator(bctx, "test", org.ID, identity.NewUser{Email: email, Password: "a long passphrase of mine 123", Roles: []string{"owner"}}); err != nil {
				t.Fatal(err)
			}
			p := ownerOf(org.ID)
			if _, err := d.Records.CreateCollection(bctx, p, records.CollectionSpec{Name: "notes"}); err != nil {
				t.Fatal(err)
			}
			first, err := d.Records.Create(bctx, p, "notes", json.RawMessage(`{"v":"`+value+`"}`))
			if err != nil {
				t.Fatal(err)
			}

			// A writer keeps writing while the backup runs.
			var mu sync.Mutex
			acked := []string{first.ID}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r, err := d.Records.Create(bctx, p, "notes", json.RawMessage(`{"i":1}`))
					if err != nil {
						return
					}
					mu.Lock()
					acked = append(acked, r.ID)
					mu.Unlock()
				}
			}()
			// Wait until the writer is really writing.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 5 || time.Now().After(deadline) {
					break
				}
			}
			mu.Lock()
			before := append([]string(nil), acked...)
			mu.Unlock()
			if len(before) < 5 {
				t.Fatalf("the writer wrote only %d records", len(before))
			}
			info, err := d.CreateBackup(bctx, "test", nil, nil)
			close(stop)
			<-done
			if err != nil {
				t.Fatalf("backup: %v", err)
			}

			raw, err := os.ReadFile(filepath.Join(cfg.Backup.Target, "backups", info.ID+".age"))
			if err != nil {
				t.Fatal(err)
			}
			for _, known := range []string{orgName, email, value} {
				if bytes.Contains(raw, []byte(known)) {
					t.Errorf("the encrypted archive contains %q", known)
				}
			}

			dir, dbURL := restoreTarget(t, dialect)
			res, err := RestoreBackup(bctx, cfg, quietLog(), info.ID, []age.Identity{id}, dir, dbURL, nil)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if res.Rows == 0 || res.Tables == 0 {
				t.Errorf("restore result = %+v", res)
			}
			r, err := OpenData(bctx, RestoredConfig(cfg, dir, dbURL), quietLog(), MustExist)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, rid := range before {
				if _, err := r.Records.Get(bctx, p, "notes", rid); err != nil {
					t.Fatalf("record %s acknowledged before the backup is missing: %v", rid, err)
				}
			}
			got, _ := r.Records.Get(bctx, p, "notes", first.ID)
			if !strings.Contains(string(got.Data), value) {
				t.Errorf("first record = %s", got.Data)
			}
			var users, restores int
			_ = r.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
				_ = tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE org_id = ?", org.ID).Scan(&users)
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = '' AND action = 'backup.restore'").Scan(&restores)
			})
			if users != 1 || restores != 1 {
				t.Errorf("users %d, backup.restore entries %d", users, restores)
			}
			rep, err := r.Audit.Verify(bctx, r.DB, audit.AllOrgs)
			if err != nil || !rep.OK() {
				t.Fatalf("audit of the restored instance: %+v %v", rep, err)
			}
			// The live instance recorded the backup.
			var created int
			_ = d.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = '' AND action = 'backup.create' AND outcome = 'success'").Scan(&created)
			})
			if created != 1 {
				t.Errorf("backup.create entries = %d", created)
			}
		})
	}
}

func TestOrganizationShreddedAfterTheBackupIsUnreadableAfterRestore(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, cfg, id := liveInstance(t, dialect)
			x, _ := d.CreateOrganization(bctx, "test", "Doomed", "doomed")
			y, _ := d.CreateOrganization(bctx, "test", "Stays", "stays")
			var recs []string
			for _, o := range []Organization{x, y} {
				if _, err := d.Records.CreateCollection(bctx, ownerOf(o.ID), records.CollectionSpec{Name: "notes"}); err != nil {
					t.Fatal(err)
				}
				r, err := d.Records.Create(bctx, ownerOf(o.ID), "notes", json.RawMessage(`{"a":1}`))
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r.ID)
			}
			info, err := d.CreateBackup(bctx, "test", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A copy of one of X's ciphertexts, as the backup holds it.
			var stolen []byte
			if err := d.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT body FROM records WHERE org_id = ? AND id = ?", x.ID, recs[0]).Scan(&stolen)
			}); err != nil {
				t.Fatal(err)
			}
			// Org X is deleted after the backup (owner asks, operator
			// confirms); the server publishes its tombstone to the target.
			if _, err := d.RequestOrgDeletion(bctx, ownerOf(x.ID), "doomed"); err != nil {
				t.Fatal(err)
			}
			if _, err := d.DeleteOrganization(bctx, "cli", "doomed", "doomed"); err != nil {
				t.Fatal(err)
			}
			ts, err := backup.ReadTombstones(bctx, mustTarget(t, cfg))
			if err != nil || len(ts) != 1 || ts[0].Org != x.ID {
				t.Fatalf("tombstones on the target after the deletion: %+v %v", ts, err)
			}
			dir, dbURL := restoreTarget(t, dialect)
			res, err := RestoreBackup(bctx, cfg, quietLog(), info.ID, []age.Identity{id}, dir, dbURL, nil)
			if err != nil || res.Tombstones != 1 {
				t.Fatalf("restore: %+v %v", res, err)
			}
			r, err := OpenData(bctx, RestoredConfig(cfg, dir, dbURL), quietLog(), MustExist)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := r.Records.Get(bctx, ownerOf(x.ID), "notes", recs[0]); errs.KindOf(err) != errs.NotFound && errs.KindOf(err) != errs.Shredded {
				t.Fatalf("org X's record after restore: %v, want it gone", err)
			}
			ad := keys.AssociatedData("records", "notes", recs[0], "1")
			if _, err := r.Keys.Decrypt(bctx, x.ID, stolen, ad); errs.KindOf(err) != errs.Shredded {
				t.Fatalf("decrypting X's ciphertext in the restored instance: %v, want Shredded", err)
			}
			if err := r.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
				left, err := tx.CountOrgRows(ctx, x.ID, "org_tombstones")
				if err == nil && len(left) > 0 {
					t.Errorf("rows of the deleted organization in the restored instance: %v", left)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Records.Get(bctx, ownerOf(y.ID), "notes", recs[1]); err != nil {
				t.Fatalf("org Y's record after restore: %v", err)
			}
		})
	}
}

func TestDRDrillServesTheNewestBackupAndReportsRTOAndRPO(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, cfg, id := liveInstance(t, dialect)
			o, _ := d.CreateOrganization(bctx, "test", "Drilled", "drilled")
			if _, err := d.Records.CreateCollection(bctx, ownerOf(o.ID), records.CollectionSpec{Name: "notes"}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := d.Records.Create(bctx, ownerOf(o.ID), "notes", json.RawMessage(`{"a":1}`)); err != nil {
					t.Fatal(err)
				}
			}
			info, err := d.CreateBackup(bctx, "test", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := DRDrill(bctx, cfg, quietLog(), d, "test", []age.Identity{id})
			if err != nil {
				t.Fatalf("drill: %v (%+v)", err, res)
			}
			if !res.OK || res.BackupID != info.ID || res.RTOSeconds <= 0 || res.RPOSeconds < 0 || res.SampleReads < 3 || res.AuditEntries == 0 {
				t.Fatalf("drill = %+v", res)
			}
			for _, c := range []string{"restore", "/healthz", "/readyz", "audit", "keys", "records"} {
				if res.Checks[c] != "ok" {
					t.Errorf("check %s = %q", c, res.Checks[c])
				}
			}
			latest, err := LatestDrill(bctx, cfg)
			if err != nil || latest.BackupID != info.ID || !latest.OK {
				t.Fatalf("latest drill = %+v, %v", latest, err)
			}
			var n int
			_ = d.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = '' AND action = 'backup.drill'").Scan(&n)
			})
			if n != 1 {
				t.Errorf("backup.drill audit entries = %d", n)
			}
		})
	}
}

func TestScheduledBackupsNeedRecipients(t *testing.T) {
	d, _, _ := liveInstance(t, store.SQLite)
	var logBuf bytes.Buffer
	d.Config.Backup.Recipients = nil
	d.Log = slog.New(slog.NewTextHandler(&logBuf, nil))
	s := &Server{data: d}
	s.startBackupSchedule(bctx)
	s.background.Wait()
	if !strings.Contains(logBuf.String(), "backup.recipients") || !strings.Contains(logBuf.String(), "NOT running") {
		t.Fatalf("log = %s", logBuf.String())
	}
	_, err := d.CreateBackup(bctx, "test", nil, nil)
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "backup.recipients") {
		t.Fatalf("create without recipients: %v", err)
	}
}

func TestFailedBackupIsAuditedAndAlerted(t *testing.T) {
	d, _, _ := liveInstance(t, store.SQLite)
	got := make(chan string, 1)
	srv := newAlertServer(t, got)
	d.Config.Backup.AlertWebhook = srv
	d.Config.Backup.Target = "/proc/rampart-cannot-write-here"
	if _, err := d.CreateBackup(bctx, "test", nil, nil); err == nil {
		t.Fatal("backup to an unwritable target succeeded")
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"event":"backup.create"`) {
			t.Errorf("alert = %s", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no alert")
	}
	var n int
	_ = d.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = '' AND action = 'backup.create' AND outcome = 'failure'").Scan(&n)
	})
	if n != 1 {
		t.Errorf("failed backup.create entries = %d", n)
	}
}

func TestOnlyOneNodeTakesAScheduledBackup(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, _, _ := liveInstance(t, dialect)
			due := time.Now().Add(-time.Second)
			release, run := d.claimScheduledBackup(bctx, due)
			if !run {
				t.Fatal("the first node did not take the backup")
			}
			if dialect == store.Postgres {
				// While the first holds the cluster lock, another skips.
				release2, run2 := d.claimScheduledBackup(bctx, due)
				release2()
				if run2 {
					t.Fatal("a second node took the backup while the first held the lock")
				}
			}
			if _, err := d.CreateBackup(bctx, "test", nil, nil); err != nil {
				t.Fatal(err)
			}
			release()
			// A node waking up later finds the backup of this moment.
			release3, run3 := d.claimScheduledBackup(bctx, due)
			release3()
			if run3 {
				t.Fatal("a later node took the same scheduled backup again")
			}
			// The next moment is taken again.
			release4, run4 := d.claimScheduledBackup(bctx, due.Add(24*time.Hour))
			release4()
			if !run4 {
				t.Fatal("the next scheduled backup was skipped")
			}
		})
	}
}

func mustTarget(t *testing.T, cfg config.Config) backup.Target {
	t.Helper()
	tg, err := backup.TargetFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
