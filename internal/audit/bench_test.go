package audit_test

import (
	"context"
	"testing"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// BenchmarkAppendSQLite appends from many goroutines on SQLite with
// synchronous=FULL: every Record returns after its commit is on disk, with
// concurrent appends sharing commits (group commit).
func BenchmarkAppendSQLite(b *testing.B) {
	db := testutil.OpenDB(b, store.SQLite)
	l := newLog(b, db, 1000)
	ev := audit.Event{Org: "bench", Actor: "user:0123456789", Action: "records.create", Target: "record:abcdef",
		IP: "203.0.113.7", UserAgent: "bench/1.0", Details: map[string]any{"collection": "notes"}}
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(context.Background(), db, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerify measures chain verification (read + hash) per entry.
func BenchmarkVerify(b *testing.B) {
	db := testutil.OpenDB(b, store.SQLite)
	l := newLog(b, db, 1000)
	const n = 100_000
	ev := audit.Event{Org: "bench", Actor: "user:0123456789", Action: "records.create", Target: "record:abcdef",
		IP: "203.0.113.7", UserAgent: "bench/1.0", Details: map[string]any{"collection": "notes"}}
	for done := 0; done < n; done += 1000 {
		err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			for range 1000 {
				if _, err := l.Append(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := l.Verify(context.Background(), db, "bench")
		if err != nil || !rep.OK() || rep.Entries != n {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
