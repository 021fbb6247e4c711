package identity_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	otp "github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/password"
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

type env struct {
	db    *store.DB
	svc   *identity.Service
	clock *clock
	mail  *mailbox
	orgs  map[string]string // slug -> id
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	k := testutil.NewKernel(t, db, c.now)
	e := &env{db: db, clock: c, mail: &mailbox{}, orgs: map[string]string{}}
	e.svc = identity.New(db, k.Keys, k.Audit, password.NewHasher(password.DefaultParams(), 4), lockout.NewMemory(c.now, 1000), e.mail, nil, c.now,
		identity.Config{PublicURL: "https://rampart.test"})
	for _, slug := range []string{"acme", "globex"} {
		k.CreateOrg(t, db, slug+"-id", slug)
		e.orgs[slug] = slug + "-id"
	}
	return e
}

const goodPassword = "correct horse battery staple"

func (e *env) user(t *testing.T, org, email string, roles ...string) identity.User {
	t.Helper()
	u, err := e.svc.CreateUserAsOperator(context.Background(), "test", e.orgs[org], identity.NewUser{Email: email, Password: goodPassword, Roles: roles})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func (e *env) login(t *testing.T, org, email, pw string) (identity.LoginResult, error) {
	t.Helper()
	return e.svc.Login(context.Background(), identity.Meta{IP: "198.51.100.7", UserAgent: "test"}, identity.LoginRequest{Organization: org, Email: email, Password: pw})
}

func (e *env) session(t *testing.T, org, email string) identity.Authenticated {
	t.Helper()
	res, err := e.login(t, org, email, goodPassword)
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	a, err := e.svc.AuthenticateSession(context.Background(), res.Token)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginSucceedsAndFailuresAreUniform(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.user(t, "acme", "ada@acme.test", authz.RoleOwner)
		res, err := e.login(t, "acme", "ADA@acme.test", goodPassword)
		if err != nil || res.Token == "" || res.MFARequired() {
			t.Fatalf("login: %+v %v", res, err)
		}
		failures := map[string][3]string{
			"wrong password":        {"acme", "ada@acme.test", "wrong password here"},
			"unknown email":         {"acme", "nobody@acme.test", goodPassword},
			"unknown organization":  {"nope", "ada@acme.test", goodPassword},
			"right user, other org": {"globex", "ada@acme.test", goodPassword},
		}
		var first string
		for name, f := range failures {
			_, err := e.login(t, f[0], f[1], f[2])
			if errs.KindOf(err) != errs.Unauthorized {
				t.Fatalf("%s: %v", name, err)
			}
			if first == "" {
				first = errs.SafeMessage(err)
			} else if errs.SafeMessage(err) != first {
				t.Fatalf("%s: message %q differs from %q (reveals which part was wrong)", name, errs.SafeMessage(err), first)
			}
		}
	})
}

func TestLockoutAfterRepeatedFailuresAlsoForUnknownAccounts(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.user(t, "acme", "bob@acme.test", authz.RoleMember)
		for _, email := range []string{"bob@acme.test", "ghost@acme.test"} {
			rule := lockout.AccountRule()
			for range rule.Free {
				if _, err := e.login(t, "acme", email, "bad password 123"); errs.KindOf(err) != errs.Unauthorized {
					t.Fatalf("%s: %v", email, err)
				}
			}
			_, err := e.login(t, "acme", email, "bad password 123")
			if errs.KindOf(err) != errs.Unauthorized {
				t.Fatalf("%s: failure that triggers the lock: %v", email, err)
			}
			// Locked now: even the right password is refused, for the
			// real and the unknown account alike.
			_, err = e.login(t, "acme", email, goodPassword)
			if errs.KindOf(err) != errs.RateLimited || identity.RetryAfter(err) <= 0 {
				t.Fatalf("%s while locked: %v", email, err)
			}
		}
		e.clock.add(time.Hour)
		if _, err := e.login(t, "acme", "bob@acme.test", goodPassword); err != nil {
			t.Fatalf("after the lock expired: %v", err)
		}
	})
}

func TestPolicyViolationsListEveryRule(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, err := e.svc.CreateUserAsOperator(context.Background(), "test", e.orgs["acme"], identity.NewUser{Email: "carol@acme.test", Password: "carol"})
		if errs.KindOf(err) != errs.Invalid {
			t.Fatalf("weak password accepted: %v", err)
		}
		rules := map[string]bool{}
		for _, v := range password.Violations(err) {
			rules[v.Rule] = true
		}
		for _, want := range []string{"min_length", "email"} {
			if !rules[want] {
				t.Errorf("violation %q missing from %v", want, rules)
			}
		}
		if strings.Contains(errs.SafeMessage(err), "carol@") {
			t.Errorf("message echoes input: %q", errs.SafeMessage(err))
		}
	})
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func secretOf(t *testing.T, uri string) string {
	t.Helper()
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret()
}

func TestTOTPEnrolmentLoginReplayAndRecoveryCodes(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		m := identity.Meta{IP: "203.0.113.1"}
		e.user(t, "acme", "dan@acme.test", authz.RoleMember)
		a := e.session(t, "acme", "dan@acme.test")
		enr, err := e.svc.StartTOTP(ctx, a, m)
		if err != nil || !strings.HasPrefix(enr.URI, "otpauth://totp/") || len(enr.QRPNGB64) == 0 {
			t.Fatalf("StartTOTP: %v", err)
		}
		secret := secretOf(t, enr.URI)
		if _, err := e.svc.ConfirmTOTP(ctx, a, m, "000000"); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("wrong confirmation code: %v", err)
		}
		recovery, err := e.svc.ConfirmTOTP(ctx, a, m, code(t, secret, e.clock.now()))
		if err != nil || len(recovery) != 10 {
			t.Fatalf("ConfirmTOTP: %d codes, %v", len(recovery), err)
		}

		// Login now needs the second factor.
		e.clock.add(time.Minute)
		res, err := e.login(t, "acme", "dan@acme.test", goodPassword)
		if err != nil || !res.MFARequired() {
			t.Fatalf("login after enrolment: %+v %v", res, err)
		}
		if _, err := e.svc.AuthenticateSession(ctx, res.Token); err != nil {
			t.Fatal(err)
		}
		c := code(t, secret, e.clock.now())
		full, err := e.svc.CompleteMFA(ctx, m, res.Token, c)
		if err != nil {
			t.Fatalf("CompleteMFA: %v", err)
		}
		if _, err := e.svc.AuthenticateSession(ctx, res.Token); err == nil {
			t.Fatal("the pre-MFA token still works after the second factor (session fixation)")
		}
		if a, err := e.svc.AuthenticateSession(ctx, full); err != nil || a.State != identity.SessionActive {
			t.Fatalf("full session: %+v %v", a, err)
		}
		// The same code again, in a new login within its validity: replay.
		res2, _ := e.login(t, "acme", "dan@acme.test", goodPassword)
		if _, err := e.svc.CompleteMFA(ctx, m, res2.Token, c); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("replayed TOTP code accepted: %v", err)
		}
		// A recovery code works once.
		if _, err := e.svc.CompleteMFA(ctx, m, res2.Token, recovery[3]); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		res3, _ := e.login(t, "acme", "dan@acme.test", goodPassword)
		if _, err := e.svc.CompleteMFA(ctx, m, res3.Token, recovery[3]); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("recovery code used twice: %v", err)
		}
	})
}

func TestRequireMFAConfinesSessionsToEnrolment(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		e.user(t, "acme", "eve@acme.test", authz.RoleMember)
		owner := e.session(t, "acme", "owner@acme.test")
		ps, _ := e.svc.GetPasswordSettings(ctx, owner)
		ps.RequireMFA = true
		member := e.session(t, "acme", "eve@acme.test")
		if err := e.svc.SetPasswordSettings(ctx, member, identity.Meta{}, ps); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("member changed the policy: %v", err)
		}
		if err := e.svc.SetPasswordSettings(ctx, owner, identity.Meta{}, ps); err != nil {
			t.Fatal(err)
		}
		res, err := e.login(t, "acme", "eve@acme.test", goodPassword)
		if err != nil || res.State != identity.SessionEnrol {
			t.Fatalf("login without 2FA under require_mfa: %+v %v", res, err)
		}
	})
}

func TestAPITokensNarrowAndRevoke(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "fay@acme.test", authz.RoleMember)
		a := e.session(t, "acme", "fay@acme.test")
		if _, _, err := e.svc.CreateAPIToken(ctx, a, identity.Meta{}, "ci", []string{"records.read", "bogus.perm"}, time.Hour); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("unknown permission accepted: %v", err)
		}
		tok, value, err := e.svc.CreateAPIToken(ctx, a, identity.Meta{}, "ci", []string{"records.read", "members.manage"}, time.Hour)
		if err != nil || !strings.HasPrefix(value, "rpt_") {
			t.Fatalf("CreateAPIToken: %v", err)
		}
		ta, err := e.svc.AuthenticateToken(ctx, value)
		if err != nil {
			t.Fatal(err)
		}
		tctx := authz.WithPrincipal(ctx, ta.Principal)
		if err := authz.Can(tctx, authz.RecordsRead, authz.Resource{OrgID: e.orgs["acme"]}); err != nil {
			t.Fatalf("token cannot read: %v", err)
		}
		if err := authz.Can(tctx, authz.RecordsWrite, authz.Resource{OrgID: e.orgs["acme"]}); err == nil {
			t.Fatal("token not limited to its permissions")
		}
		if err := authz.Can(tctx, authz.MembersManage, authz.Resource{OrgID: e.orgs["acme"]}); err == nil {
			t.Fatal("token gained a permission its member lacks")
		}
		if err := e.svc.RevokeAPIToken(ctx, a, identity.Meta{}, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateToken(ctx, value); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("revoked token works: %v", err)
		}
	})
}

func TestSessionsExpireAndRevokeAcrossTenantsIsNotFound(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "gus@acme.test", authz.RoleAdmin)
		e.user(t, "globex", "hal@globex.test", authz.RoleOwner)
		gus := e.session(t, "acme", "gus@acme.test")
		hal := e.session(t, "globex", "hal@globex.test")
		if err := e.svc.RevokeSession(ctx, hal, identity.Meta{}, gus.SessionID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("owner of another org revoked a session: %v", err)
		}
		list, err := e.svc.ListSessions(ctx, gus, "")
		if err != nil || len(list) != 1 || !list[0].Current {
			t.Fatalf("ListSessions: %+v %v", list, err)
		}
		res, _ := e.login(t, "acme", "gus@acme.test", goodPassword)
		e.clock.add(31 * time.Minute) // idle timeout
		if _, err := e.svc.AuthenticateSession(ctx, res.Token); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("idle session still valid: %v", err)
		}
	})
}

// TestTokenAuthenticationCache: a busy token is authenticated from memory,
// but a change made through this node is seen at once and one made
// elsewhere (another node, straight in the database) within a second.
func TestTokenAuthenticationCache(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "gil@acme.test", authz.RoleAdmin)
		e.user(t, "acme", "boss@acme.test", authz.RoleOwner)
		a := e.session(t, "acme", "gil@acme.test")
		boss := e.session(t, "acme", "boss@acme.test")
		_, value, err := e.svc.CreateAPIToken(ctx, a, identity.Meta{}, "ci", []string{"records.read", "members.manage"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ta, err := e.svc.AuthenticateToken(ctx, value)
		if err != nil {
			t.Fatal(err)
		}
		canManage := func(a identity.Authenticated) bool {
			return authz.Can(authz.WithPrincipal(ctx, a.Principal), authz.MembersManage, authz.Resource{OrgID: e.orgs["acme"]}) == nil
		}
		if !canManage(ta) {
			t.Fatal("admin token cannot manage members")
		}
		// A role change through the service applies to the next request.
		if err := e.svc.SetMemberRoles(ctx, boss, identity.Meta{}, a.Principal.UserID, []string{authz.RoleMember}); err != nil {
			t.Fatal(err)
		}
		ta, err = e.svc.AuthenticateToken(ctx, value)
		if err != nil || canManage(ta) {
			t.Fatalf("after demotion: err=%v canManage=%v", err, canManage(ta))
		}
		// Another node disables the member: this node notices within a second.
		err = db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE users SET status = 'disabled' WHERE id = ?", a.Principal.UserID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateToken(ctx, value); err != nil {
			t.Fatalf("within the cache window the token still authenticates: %v", err)
		}
		e.clock.add(time.Second)
		if _, err := e.svc.AuthenticateToken(ctx, value); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("a second later the disabled member's token still works: %v", err)
		}
	})
}
