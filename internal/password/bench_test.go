package password

import (
	"context"
	"testing"
)

// The default parameters cost 19 MiB of argon2 memory per operation (B/op
// shows it); with maxConcurrent = NumCPU()*2 that bounds a Hasher at
// 4 × 19 MiB = 76 MiB on two cores. Run with -cpu to see how ns/op moves.

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.MemoryBound()), "bound-B")
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, stored, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyDefaultParallel is a login flood: as many goroutines as
// GOMAXPROCS verify at once, throttled by the semaphore.
func BenchmarkVerifyDefaultParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, stored, "correct horse battery staple"); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := DefaultPolicy()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Check("correct horse battery staple", "alice@example.com")
	}
}
