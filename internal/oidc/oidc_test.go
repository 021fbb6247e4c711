package oidc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newProvider(t *testing.T, db *store.DB, clk *clock) *Provider {
	t.Helper()
	k := testutil.NewKernel(t, db, clk.now)
	p, err := New(db, k.Root, k.Audit, nil, nil, clk.now, Config{PublicURL: "https://id.example.com", AccessTokenTTL: 10 * time.Minute,
		KeyRotation: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		for _, id := range []string{"org-a", "org-b"} {
			if _, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, 1)", id, id, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func as(org string, perms ...authz.Permission) context.Context {
	return authz.WithPrincipal(context.Background(), authz.Principal{Kind: authz.KindUser, UserID: "u-" + org, OrgID: org,
		Roles: []authz.Role{{Name: "custom", Permissions: perms}}})
}

func TestClientRegistrationRules(t *testing.T) {
	for _, c := range []struct {
		name    string
		nc      NewClient
		problem string // "" means valid
	}{
		{"a web app with an https redirect URI", NewClient{Name: "Web", RedirectURIs: []string{"https://app.example.com/cb"}}, ""},
		{"a native app on a loopback http URI", NewClient{Name: "CLI", Public: true, RedirectURIs: []string{"http://127.0.0.1:8765/cb"}}, ""},
		{"a service with client credentials", NewClient{Name: "Job", Scopes: []string{"kyc.verify"}}, ""},
		{"no name", NewClient{RedirectURIs: []string{"https://a.example/cb"}}, "name: must be 1 to 100 characters"},
		{"http to another host", NewClient{Name: "x", RedirectURIs: []string{"http://evil.example/cb"}}, "http is only allowed for loopback addresses"},
		{"a redirect URI with a fragment", NewClient{Name: "x", RedirectURIs: []string{"https://a.example/cb#x"}}, "must not have a fragment"},
		{"a relative redirect URI", NewClient{Name: "x", RedirectURIs: []string{"/cb"}}, "is not an absolute URL"},
		{"a custom scheme", NewClient{Name: "x", RedirectURIs: []string{"javascript:alert(1)"}}, "is not an absolute URL"},
		{"a public client with client credentials", NewClient{Name: "x", Public: true, GrantTypes: []string{"client_credentials"}}, "a public client cannot use client_credentials"},
		{"an unknown grant", NewClient{Name: "x", GrantTypes: []string{"password"}}, `"password" is not supported`},
		{"the code grant without redirect URIs", NewClient{Name: "x", GrantTypes: []string{"authorization_code"}}, "needs at least one redirect URI"},
		{"a scope with spaces", NewClient{Name: "x", Scopes: []string{"a b"}}, "must be 1 to 64 of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nc := c.nc
			err := nc.validate()
			switch {
			case c.problem == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.problem != "" && (err == nil || !strings.Contains(errs.SafeMessage(err), c.problem)):
				t.Fatalf("got %v, want a problem containing %q", err, c.problem)
			case c.problem != "" && errs.KindOf(err) != errs.Invalid:
				t.Fatalf("kind %v", errs.KindOf(err))
			}
		})
	}
}

func TestClientsAreManagedPerOrganization(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		p := newProvider(t, db, clk)
		a := as("org-a", authz.ClientsManage)
		if _, _, err := p.CreateClient(as("org-a", authz.RecordsRead), Meta{}, NewClient{Name: "x"}); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("without clients.manage: %v", err)
		}
		c, secret, err := p.CreateClient(a, Meta{}, NewClient{Name: "Job", Scopes: []string{"echo.read"}})
		if err != nil {
			t.Fatal(err)
		}
		if !c.checkSecret(secret) || c.checkSecret(secret+"x") || c.checkSecret("") {
			t.Fatal("secret check")
		}
		stored, _ := p.clientByID(context.Background(), c.ID)
		if !stored.checkSecret(secret) || strings.Contains(string(stored.secretHash), secret) {
			t.Fatal("the stored hash does not verify the secret")
		}
		if _, err := p.GetClient(as("org-b", authz.ClientsManage), c.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("another organization sees the client: %v", err)
		}
		if err := p.RevokeClient(as("org-b", authz.ClientsManage), Meta{}, c.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("another organization revokes the client: %v", err)
		}
		list, err := p.ListClients(as("org-b", authz.ClientsManage))
		if err != nil || len(list) != 0 {
			t.Fatalf("org-b lists %v %v", list, err)
		}
		if err := p.RevokeClient(a, Meta{}, c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := p.GetClient(a, c.ID)
		if err != nil || got.RevokedAt == nil {
			t.Fatalf("revoked client %+v %v", got, err)
		}
		if _, err := p.GetClient(a, "not-a-uuid"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("malformed id: %v", err)
		}
	})
}

func TestSigningKeysRotateOnScheduleWithOverlap(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		p := newProvider(t, db, clk)
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		first, _ := p.keys.current(ctx, PurposeTokens)
		// The private key is stored wrapped, never in clear.
		var wrapped []byte
		_ = db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT private_key FROM oauth_signing_keys WHERE id = ?", first.id).Scan(&wrapped)
		})
		if len(wrapped) == 0 || strings.Contains(string(wrapped), "PRIVATE") {
			t.Fatal("private key not wrapped")
		}
		if err := p.EnsureKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if again, _ := p.keys.current(ctx, PurposeTokens); again.id != first.id {
			t.Fatal("EnsureKeys rotated an active key")
		}
		// The schedule runs out: a new key signs, the old one stays
		// published for the overlap, then disappears.
		clk.add(24*time.Hour + time.Second)
		if err := p.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		second, _ := p.keys.current(ctx, PurposeTokens)
		if second.id == first.id {
			t.Fatal("no rotation after the schedule ran out")
		}
		pub, _ := p.keys.published(ctx, PurposeTokens)
		if len(pub) != 2 {
			t.Fatalf("%d published keys during the overlap, want 2", len(pub))
		}
		clk.add(time.Hour)
		if _, err := p.keys.load(ctx, PurposeTokens, true); err != nil {
			t.Fatal(err)
		}
		pub, _ = p.keys.published(ctx, PurposeTokens)
		if len(pub) != 1 || pub[0].id != second.id {
			t.Fatalf("after the overlap: %d keys", len(pub))
		}
		// A forced rotation retires the current key at once from signing.
		if err := p.RotateSigningKeys(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		third, _ := p.keys.current(ctx, PurposeTokens)
		if third.id == second.id {
			t.Fatal("forced rotation kept the key")
		}
	})
}

func TestConcurrentRefreshOnlyOneWinsAndTheFamilyDies(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now()}
		p := newProvider(t, db, clk)
		s := &storage{p: p}
		c, _, err := p.CreateClientAsOperator(ctx, "test", "org-a", NewClient{Name: "Web", RedirectURIs: []string{"https://a.example/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		ar := &authRequest{id: "r1", clientID: c.ID, orgID: "org-a", userID: "user-1", params: authParams{Scopes: []string{"openid", "offline_access"}},
			authTime: clk.now(), amr: []string{"pwd"}}
		_, first, _, err := s.CreateAccessAndRefreshTokens(ctx, ar, "")
		if err != nil {
			t.Fatal(err)
		}
		req, err := s.TokenRequestByRefreshToken(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var wins, losses int
		var mu sync.Mutex
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, _, err := s.CreateAccessAndRefreshTokens(ctx, req, first)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else {
					losses++
				}
			}()
		}
		wg.Wait()
		if wins != 1 || losses != 3 {
			t.Fatalf("%d rotations succeeded, %d failed; want exactly one", wins, losses)
		}
		// The losers were reuses: the whole family, the winner's new token
		// included, is revoked.
		var live int
		_ = db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM oauth_refresh_tokens WHERE revoked_at = 0").Scan(&live)
		})
		if live != 0 {
			t.Fatalf("%d refresh tokens survived a reuse", live)
		}
		if err := s.TerminateSession(ctx, "user-1", c.ID); err != nil {
			t.Fatal(err)
		}
	})
}
