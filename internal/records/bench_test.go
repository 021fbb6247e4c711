package records_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// benchDoc is a 1 KiB record body, as in the HTTP load test (bench/records).
var benchDoc = json.RawMessage(`{"ref":"bench","title":"` + strings.Repeat("x", 980) + `"}`)

func benchEnv(b *testing.B) (*records.Service, func() records.Record) {
	db := testutil.OpenDB(b, store.SQLite)
	k := testutil.NewKernel(b, db, time.Now)
	svc := records.New(db, k.Keys, k.Audit, time.Now)
	k.CreateOrg(b, db, "org-a", "org-a")
	p := owner("org-a", "alice")
	if _, err := svc.CreateCollection(ctx, p, records.CollectionSpec{Name: "docs", IndexedFields: []string{"ref"}}); err != nil {
		b.Fatal(err)
	}
	return svc, func() records.Record {
		r, err := svc.Create(ctx, p, "docs", benchDoc)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
}

// BenchmarkCreateParallel: durable (synchronous=FULL), audited, indexed
// creates of 1 KiB documents from 64 goroutines (group commit).
func BenchmarkCreateParallel(b *testing.B) {
	svc, _ := benchEnv(b)
	p := owner("org-a", "alice")
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Create(ctx, p, "docs", benchDoc); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetParallel: decrypting reads of one 1 KiB record.
func BenchmarkGetParallel(b *testing.B) {
	svc, create := benchEnv(b)
	id := create().ID
	p := owner("org-a", "alice")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Get(ctx, p, "docs", id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkList20Parallel: first pages of 20 from 2,000 records.
func BenchmarkList20Parallel(b *testing.B) {
	svc, create := benchEnv(b)
	for range 2000 {
		create()
	}
	p := owner("org-a", "alice")
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			page, err := svc.List(ctx, p, "docs", records.ListOptions{Limit: 20})
			if err != nil || len(page.Items) != 20 {
				b.Errorf("list: %v (%d items)", err, len(page.Items))
				return
			}
			n.Add(1)
		}
	})
}
