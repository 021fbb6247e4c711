package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func insertOrg(ctx context.Context, tx *store.Tx, id string) error {
	_, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)", id, id, "Org "+id, 1)
	return err
}

func countOrgs(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	err := db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations").Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWriteCommitsAndFailedClosureChangesNothing(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "a") }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			if err := insertOrg(ctx, tx, "b"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write returned %v, want the closure's error", err)
		}
		if n := countOrgs(t, db); n != 1 {
			t.Fatalf("organizations = %d, want 1 (failed closure must leave nothing)", n)
		}
	})
}

func TestConcurrentWritesAreIsolatedPerClosure(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errsSeen := make([]error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errsSeen[i] = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
					if err := insertOrg(ctx, tx, fmt.Sprintf("org-%d", i)); err != nil {
						return err
					}
					if i%3 == 0 {
						return errs.E(errs.Invalid, "test", "rejected")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		want := 0
		for i, err := range errsSeen {
			if i%3 == 0 {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("closure %d: got %v, want its own error", i, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("closure %d: %v", i, err)
			}
			want++
		}
		if n := countOrgs(t, db); n != want {
			t.Fatalf("organizations = %d, want %d", n, want)
		}
	})
}

func TestConstraintViolationInOneClosureDoesNotAbortOthers(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "dup") }); err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "dup") }); err == nil {
			t.Fatal("duplicate primary key accepted")
		}
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "next") }); err != nil {
			t.Fatalf("write after a failed one: %v", err)
		}
		if n := countOrgs(t, db); n != 2 {
			t.Fatalf("organizations = %d, want 2", n)
		}
	})
}

// Only SQLite runs closures on a shared writer goroutine, where a panic
// would otherwise take every caller down.
func TestPanicInClosureIsAnErrorNotACrash(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error { panic("bad closure") })
	if err == nil {
		t.Fatal("panic was not reported")
	}
	if err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "x") }); err != nil {
		t.Fatalf("writer dead after a panic: %v", err)
	}
}

func TestMigrateIsIdempotentAndReportsVersion(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second Migrate applied %d migrations", len(applied))
		}
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || cur < 1 {
			t.Fatalf("schema version %d, latest %d", cur, latest)
		}
	})
}

func TestWriteSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := store.Open(ctx, store.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return insertOrg(ctx, tx, "kept") }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, store.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countOrgs(t, db); n != 1 {
		t.Fatalf("after reopen organizations = %d, want 1", n)
	}
}

func TestUnreachablePostgresIsAnUnavailableErrorWithoutPassword(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{PostgresURL: "postgres://u:sekrit-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"})
	if errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("kind = %v (%v), want unavailable", errs.KindOf(err), err)
	}
	if msg := errs.SafeMessage(err); msg == "" || strings.Contains(msg, "sekrit-pw") {
		t.Fatalf("message %q must name the database without its password", msg)
	}
}

func TestAfterCommitRunsOnlyForCommittedClosures(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ran := map[string]bool{}
		var mu sync.Mutex
		mark := func(s string) func() { return func() { mu.Lock(); ran[s] = true; mu.Unlock() } }
		_ = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			tx.AfterCommit(mark("ok"))
			return insertOrg(ctx, tx, "ok")
		})
		_ = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			tx.AfterCommit(mark("failed"))
			return errors.New("no")
		})
		if !ran["ok"] || ran["failed"] {
			t.Fatalf("after-commit hooks ran: %v, want only ok", ran)
		}
	})
}
