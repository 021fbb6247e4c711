package identity

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/internal/store"
)

// tokenCacheTTL bounds how long an API token's authentication is reused
// without reading the database. On this node any change to identity data
// (a revoked token, a removed member, a changed role) empties the cache at
// once; another node of a cluster sees such a change within this time.
const tokenCacheTTL = time.Second

// tokenCacheMax bounds the cache; when full it is emptied (cheap, and a
// flood of distinct tokens gains nothing from it anyway).
const tokenCacheMax = 50_000

// authCache remembers recent API-token authentications by token hash, so
// that a busy client's every request does not read its token, member and
// roles again. Entries are valid for one generation: every identity write
// starts a new one.
type authCache struct {
	gen     atomic.Uint64
	mu      sync.RWMutex
	entries map[string]authEntry
}

type authEntry struct {
	a       Authenticated
	expires int64 // the token's own expiry (unix µs)
	until   int64 // end of the entry's validity (unix µs)
	gen     uint64
}

func (c *authCache) get(hash string, now int64) (Authenticated, bool) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || e.gen != c.gen.Load() || now >= e.until || now >= e.expires {
		return Authenticated{}, false
	}
	return e.a, true
}

// put stores a, read while generation gen was current: if identity data
// changed since, the entry is already stale and is not stored.
func (c *authCache) put(hash string, a Authenticated, gen uint64, expires, now int64) {
	if gen != c.gen.Load() {
		return
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= tokenCacheMax {
		c.entries = map[string]authEntry{}
	}
	c.entries[hash] = authEntry{a: a, expires: expires, until: now + tokenCacheTTL.Microseconds(), gen: gen}
	c.mu.Unlock()
}

// invalidate starts a new generation: every cached entry is stale.
func (c *authCache) invalidate() {
	c.gen.Add(1)
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

// write runs an identity write transaction and then invalidates the
// authentication cache, whatever the outcome (a failed write costs only
// cache misses).
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *store.Tx) error) error {
	err := s.db.Write(ctx, fn)
	s.auth.invalidate()
	return err
}

// ForgetOrg drops cached authentications after an organization was
// deleted outside this service (its rows purged by the deletion).
func (s *Service) ForgetOrg(string) { s.auth.invalidate() }
