// Package lockout is Rampart's brute-force protection (IA8): failure
// counters per key (an account, a client address) with exponential backoff
// and temporary lockout. The embedded default keeps counters in process; the
// Counter interface lets a shared store (Redis) serve several nodes.
//
// Keys are opaque strings chosen by the caller, e.g. "acct:<org>:<email>" or
// "ip:<addr>". Counting an account that does not exist exactly like one that
// does is what keeps lockout from revealing which accounts exist.
package lockout

import (
	"context"
	"sync"
	"time"
)

// Rule says when a key is locked and for how long.
type Rule struct {
	// Free is how many failures are allowed before backoff starts.
	Free int
	// Base is the first lockout; each further failure doubles it.
	Base time.Duration
	// Max caps the lockout.
	Max time.Duration
	// Forget resets a key's count after this long without failures.
	Forget time.Duration
}

// AccountRule is the default for one account: 5 free attempts, then 30 s,
// 1 min, 2 min ... up to 1 h.
func AccountRule() Rule {
	return Rule{Free: 5, Base: 30 * time.Second, Max: time.Hour, Forget: 24 * time.Hour}
}

// IPRule is the default for one client address: looser, since many users
// may share an address (NAT).
func IPRule() Rule {
	return Rule{Free: 50, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
}

// Counter stores failure counts. Implementations are safe for concurrent use.
type Counter interface {
	// Locked reports how long key stays locked (0: not locked).
	Locked(ctx context.Context, key string, r Rule) (time.Duration, error)
	// Fail records a failure and returns the lockout it caused (0: none)
	// and the failure count.
	Fail(ctx context.Context, key string, r Rule) (time.Duration, int, error)
	// Reset forgets key's failures (after a success).
	Reset(ctx context.Context, key string) error
}

// lockFor is the backoff after n failures.
func (r Rule) lockFor(n int) time.Duration {
	if n <= r.Free {
		return 0
	}
	d := r.Base
	for i := r.Free + 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

type entry struct {
	failures int
	last     time.Time
	until    time.Time
}

// Memory is the in-process Counter.
type Memory struct {
	now     func() time.Time
	maxKeys int
	mu      sync.Mutex
	m       map[string]*entry
}

var _ Counter = (*Memory)(nil)

// NewMemory returns an in-process Counter holding at most maxKeys keys (the
// oldest-failing are dropped first when full, so a flood of random keys
// cannot exhaust memory).
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &Memory{now: now, maxKeys: maxKeys, m: map[string]*entry{}}
}

// Locked implements Counter.
func (c *Memory) Locked(_ context.Context, key string, r Rule) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil {
		return 0, nil
	}
	if left := e.until.Sub(c.now()); left > 0 {
		return left, nil
	}
	return 0, nil
}

// Fail implements Counter.
func (c *Memory) Fail(_ context.Context, key string, r Rule) (time.Duration, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e := c.m[key]
	if e == nil || now.Sub(e.last) > r.Forget {
		if e == nil && len(c.m) >= c.maxKeys {
			c.evict(now)
		}
		e = &entry{}
		c.m[key] = e
	}
	e.failures++
	e.last = now
	lock := r.lockFor(e.failures)
	if lock > 0 {
		e.until = now.Add(lock)
	}
	return lock, e.failures, nil
}

// Reset implements Counter.
func (c *Memory) Reset(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
	return nil
}

// evict drops unlocked entries, or if all are locked, the oldest one.
func (c *Memory) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range c.m {
		if !e.until.After(now) {
			delete(c.m, k)
			continue
		}
		if oldestKey == "" || e.last.Before(oldest) {
			oldestKey, oldest = k, e.last
		}
	}
	if len(c.m) >= c.maxKeys && oldestKey != "" {
		delete(c.m, oldestKey)
	}
}
