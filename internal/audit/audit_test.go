package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func newLog(t testing.TB, db *store.DB, every int64) *audit.Log {
	t.Helper()
	root, err := keys.OpenLocalRootKey(filepath.Join(t.TempDir(), "root.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(context.Background(), db, root, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return audit.New(signer, time.Now, audit.Options{CheckpointEvery: every})
}

func appendN(t testing.TB, db *store.DB, l *audit.Log, org string, n int) {
	t.Helper()
	for i := range n {
		err := l.Record(context.Background(), db, audit.Event{Org: org, Actor: "user:u1", Action: "records.create",
			Target: fmt.Sprintf("record:%d", i), IP: "203.0.113.9", UserAgent: "test", Details: map[string]any{"collection": "notes"}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, db *store.DB, l *audit.Log) audit.Report {
	t.Helper()
	rep, err := l.Verify(context.Background(), db, audit.AllOrgs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIntactLogVerifies(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		l := newLog(t, db, 10)
		appendN(t, db, l, "org-a", 25)
		appendN(t, db, l, "org-b", 3)
		appendN(t, db, l, audit.PlatformOrg, 2)
		rep := verify(t, db, l)
		if !rep.OK() || rep.Entries != 30 || rep.Chains != 3 || rep.Checkpoints != 2 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func TestVerifyNamesTheFirstBrokenEntry(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string
		kind    string
		seq     int64
		message string
	}{
		{"altered target", []string{"UPDATE audit_events SET target = 'record:forged' WHERE org_id = 'org-a' AND seq = 7"}, audit.Altered, 7, "entry 7 was altered"},
		{"altered outcome", []string{"UPDATE audit_events SET outcome = 'failure' WHERE org_id = 'org-a' AND seq = 12"}, audit.Altered, 12, "entry 12"},
		{"deleted middle entry", []string{"DELETE FROM audit_events WHERE org_id = 'org-a' AND seq = 5"}, audit.Removed, 5, "entry 5 is missing"},
		{"deleted last entries", []string{"DELETE FROM audit_events WHERE org_id = 'org-a' AND seq > 23"}, audit.Removed, 24, "removed from the end"},
		{"deleted tail and forged head, caught by signed checkpoint", []string{
			"DELETE FROM audit_events WHERE org_id = 'org-a' AND seq > 15",
			"UPDATE audit_heads SET seq = 15, hash = (SELECT hash FROM audit_events WHERE org_id = 'org-a' AND seq = 15) WHERE org_id = 'org-a'",
		}, audit.Removed, 16, "signed checkpoint"},
		{"two entries swapped", []string{
			"UPDATE audit_events SET seq = -3 WHERE org_id = 'org-a' AND seq = 3",
			"UPDATE audit_events SET seq = 3 WHERE org_id = 'org-a' AND seq = 4",
			"UPDATE audit_events SET seq = 4 WHERE org_id = 'org-a' AND seq = -3",
		}, audit.Altered, 3, "entry 3"},
		{"checkpoint removed from the middle", []string{"DELETE FROM audit_checkpoints WHERE org_id = 'org-a' AND seq = 10"}, audit.BadSignature, 20, "checkpoint before it was removed"},
		{"forged checkpoint signature", []string{"UPDATE audit_checkpoints SET at = at + 1 WHERE org_id = 'org-a' AND seq = 10"}, audit.BadSignature, 10, "invalid signature"},
	}
	for _, c := range cases {
		for _, parallel := range []bool{false, true} {
			name := c.name
			if parallel {
				name += " (parallel ranges)"
			}
			t.Run(name, func(t *testing.T) {
				testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
					l := newLog(t, db, 10)
					if parallel {
						l.SetParallelMin(4)
					}
					appendN(t, db, l, "org-a", 25)
					appendN(t, db, l, "org-b", 4)
					for _, q := range c.tamper {
						exec(t, db, q)
					}
					rep := verify(t, db, l)
					if len(rep.Problems) != 1 {
						t.Fatalf("problems = %+v, want exactly one (org-b is intact)", rep.Problems)
					}
					p := rep.Problems[0]
					if p.Org != "org-a" || p.Kind != c.kind || p.Seq != c.seq || !strings.Contains(p.Message, c.message) {
						t.Fatalf("problem = %+v, want %s at %d mentioning %q", p, c.kind, c.seq, c.message)
					}
				})
			})
		}
	}
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		l := newLog(t, db, 50)
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := l.Record(context.Background(), db, audit.Event{Org: "org-c", Actor: "user:x", Action: "test.append", Target: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		rep := verify(t, db, l)
		if !rep.OK() || rep.Entries != 100 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func TestSecretsInDetailsAreRedacted(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	l := newLog(t, db, 10)
	err := l.Record(context.Background(), db, audit.Event{Org: "o", Actor: "user:x", Action: "auth.password_change",
		Details: map[string]any{"password": "hunter2-very-secret", "note": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123", "field": "email"}})
	if err != nil {
		t.Fatal(err)
	}
	var details string
	_ = db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT details FROM audit_events").Scan(&details)
	})
	if strings.Contains(details, "hunter2") || strings.Contains(details, "abcdefghijklmnopqrstuvwxyz0123") {
		t.Fatalf("secret stored in audit details: %s", details)
	}
	if !strings.Contains(details, `"field":"email"`) {
		t.Fatalf("ordinary detail lost: %s", details)
	}
}

func TestCheckpointAllSealsQuietChains(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		l := newLog(t, db, 1000)
		appendN(t, db, l, "org-q", 3)
		n, err := l.CheckpointAll(context.Background(), db)
		if err != nil || n != 1 {
			t.Fatalf("CheckpointAll = %d, %v", n, err)
		}
		if n, _ := l.CheckpointAll(context.Background(), db); n != 0 {
			t.Fatalf("second CheckpointAll signed %d chains, want 0", n)
		}
		// Now cutting the tail and forging the head is caught.
		exec(t, db, "DELETE FROM audit_events WHERE seq = 3")
		exec(t, db, "UPDATE audit_heads SET seq = 2, hash = (SELECT hash FROM audit_events WHERE seq = 2)")
		rep := verify(t, db, l)
		if rep.OK() || rep.Problems[0].Kind != audit.Removed {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func TestSignerNeedsTheRootKey(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	_ = newLog(t, db, 10)
	other, _ := keys.OpenLocalRootKey(filepath.Join(t.TempDir(), "other.key"), true)
	if _, err := audit.LoadSigner(context.Background(), db, other, time.Now); err == nil {
		t.Fatal("signing key unwrapped with a different root key")
	}
}

func TestVerifyReportsAnOrganizationWhoseWholeChainIsGone(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		l := newLog(t, db, 10)
		exec(t, db, "INSERT INTO organizations (id, slug, name, created_at) VALUES ('org-z', 'z', 'Z', 1)")
		appendN(t, db, l, "org-z", 12)
		for _, table := range []string{"audit_events", "audit_heads", "audit_checkpoints"} {
			exec(t, db, "DELETE FROM "+table+" WHERE org_id = 'org-z'")
		}
		rep := verify(t, db, l)
		if len(rep.Problems) != 1 || rep.Problems[0].Org != "org-z" || rep.Problems[0].Kind != audit.Removed {
			t.Fatalf("report = %+v", rep)
		}
	})
}

func TestRecomputedUnkeyedHashesDoNotVerify(t *testing.T) {
	// An attacker with database access but without the root key cannot
	// produce valid links: the chain is keyed.
	db := testutil.OpenDB(t, store.SQLite)
	l := newLog(t, db, 1000)
	appendN(t, db, l, "org-k", 3)
	other := newLog(t, testutil.OpenDB(t, store.SQLite), 1000) // a different chain key
	rep, err := other.Verify(context.Background(), db, "org-k")
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Problems[0].Kind != audit.Altered || rep.Problems[0].Seq != 1 {
		t.Fatalf("verification under another key: %+v", rep)
	}
}
