package lockout

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

func TestBackoffDoublesAfterFreeAttemptsAndCaps(t *testing.T) {
	r := Rule{Free: 3, Base: time.Minute, Max: 5 * time.Minute, Forget: time.Hour}
	want := []time.Duration{0, 0, 0, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := r.lockFor(i + 1); got != w {
			t.Errorf("after %d failures: lock %v, want %v", i+1, got, w)
		}
	}
}

func TestLockoutExpiresAndResetClears(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_000_000, 0)}
	m := NewMemory(c.now, 10)
	r := Rule{Free: 2, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
	for range 2 {
		if lock, _, _ := m.Fail(ctx, "acct", r); lock != 0 {
			t.Fatal("locked during free attempts")
		}
	}
	lock, n, _ := m.Fail(ctx, "acct", r)
	if lock != time.Minute || n != 3 {
		t.Fatalf("third failure: lock %v n %d", lock, n)
	}
	if left, _ := m.Locked(ctx, "acct", r); left != time.Minute {
		t.Fatalf("Locked = %v", left)
	}
	c.add(61 * time.Second)
	if left, _ := m.Locked(ctx, "acct", r); left != 0 {
		t.Fatalf("still locked after expiry: %v", left)
	}
	_ = m.Reset(ctx, "acct")
	if lock, n, _ := m.Fail(ctx, "acct", r); lock != 0 || n != 1 {
		t.Fatalf("after reset: lock %v n %d", lock, n)
	}
}

func TestCountsAreForgottenAfterQuietPeriod(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_000_000, 0)}
	m := NewMemory(c.now, 10)
	r := Rule{Free: 1, Base: time.Minute, Max: time.Hour, Forget: 10 * time.Minute}
	m.Fail(ctx, "k", r)
	c.add(11 * time.Minute)
	if lock, n, _ := m.Fail(ctx, "k", r); lock != 0 || n != 1 {
		t.Fatalf("old failure still counted: lock %v n %d", lock, n)
	}
}

func TestMemoryIsBoundedUnderAFloodOfKeys(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_000_000, 0)}
	m := NewMemory(c.now, 100)
	for i := range 10_000 {
		m.Fail(ctx, fmt.Sprint("k", i), AccountRule())
	}
	if len(m.m) > 100 {
		t.Fatalf("%d keys kept, bound is 100", len(m.m))
	}
}
