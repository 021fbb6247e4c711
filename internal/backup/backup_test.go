package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// restored opens a restored instance the way a new server would.
type restored struct {
	db      *store.DB
	root    *keys.LocalRootKey
	keys    *keys.Manager
	records *records.Service
}

func openRestored(t *testing.T, r backup.Restored) *restored {
	t.Helper()
	db, err := store.Open(ctx, store.Options{SQLitePath: r.SQLitePath, PostgresURL: r.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := keys.OpenLocalRootKey(r.RootKeyFile, false)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(ctx, db, root, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	km := keys.New(db, root, time.Now)
	return &restored{db: db, root: root, keys: km, records: records.New(db, km, audit.New(signer, time.Now, audit.Options{CheckpointEvery: 50}), time.Now)}
}

func restoreOpts(t *testing.T, f *fixture) backup.RestoreOptions {
	t.Helper()
	o := backup.RestoreOptions{Dir: filepath.Join(t.TempDir(), "restored"), RootKeyFile: f.rootFile}
	if f.dialect == store.Postgres {
		o.PostgresURL = testutil.FreshPostgresSchema(t)
	}
	return o
}

func TestBackupWhileWritingRestoresEveryAcknowledgedRow(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d)
			p := f.org(t, "org-a", "Acme")
			want := map[string]string{}
			for i := 0; i < 20; i++ {
				r := f.record(t, p, map[string]any{"n": i, "v": "before"})
				want[r.ID] = "before"
			}
			// A writer keeps writing during the backup; every record it
			// had acknowledged before the backup started must be restored.
			var mu sync.Mutex
			acked := map[string]bool{}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					b, _ := json.Marshal(map[string]any{"n": i, "v": "during"})
					r, err := f.records.Create(ctx, p, "notes", b)
					if err != nil {
						return
					}
					mu.Lock()
					acked[r.ID] = true
					mu.Unlock()
				}
			}()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			before := map[string]bool{}
			for id := range acked {
				before[id] = true
			}
			mu.Unlock()
			tg, _ := dirTarget(t)
			id := newIdentity(t)
			info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{Version: "test"})
			close(stop)
			<-done
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if info.Dialect != string(d) || info.Size == 0 || info.SchemaVersion == 0 {
				t.Errorf("info = %+v", info)
			}
			res, err := backup.Restore(ctx, tg, info.ID, []age.Identity{id}, restoreOpts(t, f))
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			r := openRestored(t, res)
			for rid := range before {
				want[rid] = "during"
			}
			for rid, v := range want {
				got, err := r.records.Get(ctx, p, "notes", rid)
				if err != nil {
					t.Fatalf("record %s acknowledged before the backup is missing after restore: %v", rid, err)
				}
				var m map[string]any
				_ = json.Unmarshal(got.Data, &m)
				if m["v"] != v {
					t.Errorf("record %s = %s", rid, got.Data)
				}
			}
			rep, err := backup.VerifyAudit(ctx, r.db, r.root, time.Now)
			if err != nil || rep.Entries < 20 {
				t.Fatalf("audit of the restored instance: %+v, %v", rep, err)
			}
			fi, err := os.Stat(filepath.Join(res.Dir, "root.key"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("root key copy: %v %v", fi, err)
			}
		})
	}
}

func TestArchiveNeedsTheIdentityAndHoldsNoPlaintext(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d)
			const orgName, value = "Plaintext Holdings Unlimited", "record-value-that-must-not-leak-7f3a"
			p := f.org(t, "org-plain", orgName)
			f.record(t, p, map[string]any{"secret": value})
			tg, dir := dirTarget(t)
			id := newIdentity(t)
			info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "backups", info.ID+".age"))
			if err != nil {
				t.Fatal(err)
			}
			for _, known := range []string{orgName, value, "org-plain", "notes", "CREATE TABLE", "SQLite format"} {
				if bytes.Contains(raw, []byte(known)) {
					t.Errorf("the archive contains %q in clear", known)
				}
			}
			// Another identity cannot read it.
			_, err = backup.Verify(ctx, tg, info.ID, []age.Identity{newIdentity(t)}, backup.VerifyOptions{RootKey: f.root})
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "does not match any recipient") {
				t.Fatalf("verify with a wrong identity: %v", err)
			}
			_, err = backup.Restore(ctx, tg, info.ID, []age.Identity{newIdentity(t)}, restoreOpts(t, f))
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("restore with a wrong identity: %v", err)
			}
			opts := backup.VerifyOptions{RootKey: f.root}
			if d == store.Postgres {
				opts.PostgresURL = f.src.PostgresURL
			}
			v, err := backup.Verify(ctx, tg, info.ID, []age.Identity{id}, opts)
			if err != nil || !v.OK || v.AuditEntries == 0 || v.Rows == 0 {
				t.Fatalf("verify: %+v %v", v, err)
			}
			all, err := backup.List(ctx, tg)
			if err != nil || len(all) != 1 || all[0].Verified == nil || !all[0].Verified.OK {
				t.Fatalf("list after verify: %+v %v", all, err)
			}
		})
	}
}

func TestTamperedArchiveFailsVerify(t *testing.T) {
	f := newFixture(t, store.SQLite)
	p := f.org(t, "org-a", "Acme")
	f.record(t, p, map[string]any{"x": 1})
	tg, dir := dirTarget(t)
	id := newIdentity(t)
	info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "backups", info.ID+".age")
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = backup.Verify(ctx, tg, info.ID, []age.Identity{id}, backup.VerifyOptions{RootKey: f.root})
	if errs.KindOf(err) != errs.Integrity || !strings.Contains(errs.SafeMessage(err), "does not match the SHA-256") {
		t.Fatalf("verify of a flipped byte: %v", err)
	}
	// Someone who can also rewrite the listing: decryption catches it.
	var listing map[string]any
	lb, _ := os.ReadFile(filepath.Join(dir, "backups", info.ID+".json"))
	_ = json.Unmarshal(lb, &listing)
	listing["sha256"] = sha256Hex(raw)
	lb, _ = json.Marshal(listing)
	_ = os.WriteFile(filepath.Join(dir, "backups", info.ID+".json"), lb, 0o600)
	_, err = backup.Verify(ctx, tg, info.ID, []age.Identity{id}, backup.VerifyOptions{RootKey: f.root})
	if errs.KindOf(err) != errs.Integrity || !strings.Contains(errs.SafeMessage(err), "altered or damaged") {
		t.Fatalf("verify of a flipped byte with a matching listing: %v", err)
	}
	all, _ := backup.List(ctx, tg)
	if len(all) != 1 || all[0].Verified == nil || all[0].Verified.OK || all[0].Verified.Error == "" {
		t.Fatalf("the failed verification is not recorded: %+v", all)
	}
	if _, err := backup.Restore(ctx, tg, info.ID, []age.Identity{id}, restoreOpts(t, f)); errs.KindOf(err) != errs.Integrity {
		t.Fatalf("restore of a tampered archive: %v", err)
	}
}

func TestShreddedOrganizationStaysUnreadableAfterRestore(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d)
			px := f.org(t, "org-x", "Doomed Ltd")
			py := f.org(t, "org-y", "Stays Ltd")
			rx := f.record(t, px, map[string]any{"a": "x"})
			ry := f.record(t, py, map[string]any{"a": "y"})
			tg, _ := dirTarget(t)
			id := newIdentity(t)
			info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// After the backup, org X is deleted: shredded and published.
			if err := f.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return f.keys.Shred(ctx, tx, "org-x") }); err != nil {
				t.Fatal(err)
			}
			if err := backup.NewTargetPublisher(tg).Publish(ctx, tombstone.Tombstone{Kind: tombstone.Org, Org: "org-x", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			res, err := backup.Restore(ctx, tg, info.ID, []age.Identity{id}, restoreOpts(t, f))
			if err != nil {
				t.Fatal(err)
			}
			r := openRestored(t, res)
			// The old snapshot still holds org X's keyset: readable before
			// the tombstones are applied ...
			if _, err := r.records.Get(ctx, px, "notes", rx.ID); err != nil {
				t.Fatalf("before tombstones: %v", err)
			}
			ts, err := backup.ReadTombstones(ctx, tg)
			if err != nil || len(ts) != 1 {
				t.Fatalf("tombstones: %v %v", ts, err)
			}
			n, err := backup.ApplyTombstones(ctx, r.db, ts, backup.Appliers{tombstone.Org: orgApplier(r.keys)})
			if err != nil || n != 1 {
				t.Fatalf("apply: %d %v", n, err)
			}
			// ... and never again after.
			if _, err := r.records.Get(ctx, px, "notes", rx.ID); errs.KindOf(err) != errs.Shredded {
				t.Fatalf("org X after restore: %v, want Shredded", err)
			}
			if _, err := r.records.Get(ctx, py, "notes", ry.ID); err != nil {
				t.Fatalf("org Y after restore: %v", err)
			}
		})
	}
}

func TestApplyTombstonesRefusesAKindItCannotApply(t *testing.T) {
	f := newFixture(t, store.SQLite)
	_, err := backup.ApplyTombstones(ctx, f.db, []tombstone.Tombstone{{Kind: tombstone.Secret, Org: "o", ID: "s"}},
		backup.Appliers{tombstone.Org: orgApplier(f.keys)})
	if errs.KindOf(err) != errs.Precondition {
		t.Fatalf("err = %v", err)
	}
}

func TestCreateRepublishesEveryTombstoneOfTheDatabase(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.org(t, "org-gone", "Gone")
	if err := f.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return f.keys.Shred(ctx, tx, "org-gone") }); err != nil {
		t.Fatal(err)
	}
	tg, _ := dirTarget(t)
	if _, err := backup.Create(ctx, f.src, tg, []age.Recipient{newIdentity(t).Recipient()}, backup.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := backup.ReadTombstones(ctx, tg)
	if err != nil || len(ts) != 1 || ts[0].Kind != tombstone.Org || ts[0].Org != "org-gone" {
		t.Fatalf("tombstones = %+v, %v", ts, err)
	}
}

func TestCreateRefusesWithoutRecipients(t *testing.T) {
	f := newFixture(t, store.SQLite)
	tg, dir := dirTarget(t)
	_, err := backup.Create(ctx, f.src, tg, nil, backup.CreateOptions{})
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "backup.recipients") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("target not empty: %v", entries)
	}
}

func TestRestoreRefusesANonEmptyDirectory(t *testing.T) {
	f := newFixture(t, store.SQLite)
	tg, _ := dirTarget(t)
	id := newIdentity(t)
	info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(ctx, tg, info.ID, []age.Identity{id}, backup.RestoreOptions{Dir: dir, RootKeyFile: f.rootFile})
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "not empty") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "x" {
		t.Error("the existing file was touched")
	}
	_, err = backup.Restore(ctx, tg, info.ID, []age.Identity{id}, backup.RestoreOptions{Dir: filepath.Join(t.TempDir(), "x")})
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "root key") {
		t.Fatalf("without a root key: %v", err)
	}
}

// failingReader fails after some bytes, like a snapshot that breaks.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestDirTargetNeverListsAHalfWrittenObject(t *testing.T) {
	tg, dir := dirTarget(t)
	if _, err := tg.Put(ctx, "backups/a.age", &failingReader{n: 1000}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	names, err := tg.List(ctx, "")
	if err != nil || len(names) != 0 {
		t.Fatalf("list = %v, %v", names, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "backups"))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	// A temporary file of a writer in progress is never listed.
	_ = os.WriteFile(filepath.Join(dir, "backups", ".tmp-123"), []byte("partial"), 0o600)
	if _, err := tg.Put(ctx, "backups/b.age", strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	names, _ = tg.List(ctx, "backups/")
	if len(names) != 1 || names[0] != "backups/b.age" {
		t.Fatalf("list = %v", names)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "backups/../../x", "backups/.tmp-1"} {
		if _, err := tg.Put(ctx, bad, strings.NewReader("x")); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Put(%q) = %v", bad, err)
		}
	}
}

func TestDirTargetKnowsWhenItSharesTheDataDirectory(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		target string
		same   bool
	}{
		{filepath.Join(base, "data", "backups"), true},
		{filepath.Join(base, "data"), true},
		{filepath.Join(base, "data-backups"), false},
		{filepath.Join(base, "elsewhere"), false},
	} {
		tg, _ := backup.NewDirTarget(tc.target)
		if got := tg.SameTreeAs(filepath.Join(base, "data")); got != tc.same {
			t.Errorf("%s: SameTreeAs = %v", tc.target, got)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		sched, now, want string
	}{
		{"daily@02:00", "2026-11-25T01:00:00Z", "2026-11-25T02:00:00Z"},
		{"daily@02:00", "2026-11-25T02:00:00Z", "2026-11-26T02:00:00Z"},
		{"daily@23:59", "2026-12-31T23:59:30Z", "2027-01-01T23:59:00Z"},
		{"hourly", "2026-11-25T01:59:59Z", "2026-11-25T02:00:00Z"},
		{"hourly", "2026-11-25T02:00:00Z", "2026-11-25T03:00:00Z"},
	}
	for _, tc := range tests {
		s, err := backup.ParseSchedule(tc.sched)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(at(tc.now)); !got.Equal(at(tc.want)) {
			t.Errorf("%s after %s = %s, want %s", tc.sched, tc.now, got, tc.want)
		}
	}
	for _, bad := range []string{"daily", "daily@2:00", "daily@24:00", "weekly", "0 2 * * *", ""} {
		if _, err := backup.ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
	if s, _ := backup.ParseSchedule("off"); !s.Off() {
		t.Error("off is not off")
	}
}

func TestRunScheduleStopsWithItsContext(t *testing.T) {
	s, _ := backup.ParseSchedule("hourly")
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		backup.RunSchedule(c, s, time.Now, func(context.Context, time.Time) { t.Error("ran") })
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunSchedule did not stop")
	}
}

func TestAlertPostsTheSafeMessageToTheWebhook(t *testing.T) {
	got := make(chan map[string]string, 1)
	srv := newWebhook(t, got)
	a := backup.NewAlerter(srv, discardLogger(), func() time.Time { return time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC) })
	a.Alert(ctx, "backup.create", errs.E(errs.Unavailable, "x", "cannot write to backup target /mnt/b", errors.New("password=hunter2 disk full")))
	m := <-got
	if m["event"] != "backup.create" || m["error"] != "cannot write to backup target /mnt/b" || m["time"] != "2026-11-25T02:00:00Z" {
		t.Fatalf("alert = %v", m)
	}
}
