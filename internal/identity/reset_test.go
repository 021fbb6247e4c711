package identity_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

const newPassword = "a brand new passphrase 2026"

func TestPasswordResetReplacesThePasswordAndEndsEverySession(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		m := identity.Meta{IP: "198.51.100.20", UserAgent: "test"}
		e.user(t, "acme", "bob@acme.test", authz.RoleMember)
		var before []string // session tokens
		for range 2 {
			res, err := e.login(t, "acme", "bob@acme.test", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, res.Token)
		}

		if err := e.svc.RequestPasswordReset(ctx, m, " ACME ", "Bob@acme.test"); err != nil {
			t.Fatal(err)
		}
		token := e.onlyMail(t, "bob@acme.test", "reset", "rpr_")

		_, err := e.svc.ConfirmPasswordReset(ctx, m, token, "bob")
		if errs.KindOf(err) != errs.Invalid || len(password.Violations(err)) < 2 {
			t.Fatalf("weak password: %v", err)
		}
		n, err := e.svc.ConfirmPasswordReset(ctx, m, token, newPassword)
		if err != nil || n != 2 {
			t.Fatalf("confirm: %d sessions revoked, %v", n, err)
		}
		for _, tok := range before {
			if _, err := e.svc.AuthenticateSession(ctx, tok); err == nil {
				t.Fatal("a session from before the reset still works")
			}
		}
		if _, err := e.login(t, "acme", "bob@acme.test", goodPassword); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("old password after reset: %v", err)
		}
		if _, err := e.login(t, "acme", "bob@acme.test", newPassword); err != nil {
			t.Fatalf("new password after reset: %v", err)
		}
		if _, err := e.svc.ConfirmPasswordReset(ctx, m, token, newPassword+"!"); errs.KindOf(err) != errs.Invalid ||
			!strings.Contains(errs.SafeMessage(err), "already been used") {
			t.Fatalf("reset link used twice: %v", err)
		}
		if n := countAudit(t, db, e.orgs["acme"], "password.reset.request", "password.reset"); n != 2 {
			t.Fatalf("%d audit entries, want 2", n)
		}
	})
}

func TestPasswordResetForAnUnknownAccountLooksTheSame(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "cat@acme.test", authz.RoleMember)
		e.user(t, "acme", "off@acme.test", authz.RoleMember)
		disable(t, db, e.orgs["acme"], "off@acme.test")

		for _, who := range [][2]string{{"acme", "nobody@acme.test"}, {"nowhere", "cat@acme.test"}, {"globex", "cat@acme.test"},
			{"acme", "off@acme.test"}, {"acme", strings.Repeat("x", 300)}} {
			if err := e.svc.RequestPasswordReset(ctx, identity.Meta{IP: "192.0.2.1"}, who[0], who[1]); err != nil {
				t.Fatalf("%v: %v", who, err)
			}
		}
		e.svc.WaitForMail()
		if msgs := e.mail.take(); len(msgs) != 0 {
			t.Fatalf("mail sent for an unknown or disabled account: %+v", msgs)
		}

		// Timing: the known and the unknown account do the same work and
		// the mail leaves after the answer, so the times are comparable.
		// Measured alternately, medians compared with a wide margin (this
		// guards against a mail or an argon2 hash sneaking into one path,
		// which costs tens of milliseconds, not against noise).
		var known, unknown []time.Duration
		for i := range 15 {
			e.clock.add(2 * time.Hour) // the rate limit forgets
			for _, who := range []string{"cat@acme.test", "nobody@acme.test"} {
				start := time.Now()
				if err := e.svc.RequestPasswordReset(ctx, identity.Meta{IP: fmt.Sprintf("192.0.2.%d", i)}, "acme", who); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); who == "cat@acme.test" {
					known = append(known, d)
				} else {
					unknown = append(unknown, d)
				}
			}
		}
		e.svc.WaitForMail()
		if n := len(e.mail.take()); n != 15 {
			t.Fatalf("%d mails for 15 requests of a real account", n)
		}
		mk, mu := median(known), median(unknown)
		t.Logf("password reset request, median of 15: existing account %v, unknown account %v", mk, mu)
		if mk > 3*mu+5*time.Millisecond || mu > 3*mk+5*time.Millisecond {
			t.Errorf("times differ too much: existing %v, unknown %v", mk, mu)
		}
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func disable(t *testing.T, db *store.DB, org, email string) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE users SET status = ? WHERE org_id = ? AND email = ?", identity.StatusDisabled, org, email)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPasswordResetLinkExpiresAndIsReplacedByANewerOne(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "dee@acme.test", authz.RoleMember)
		if err := e.svc.RequestPasswordReset(ctx, identity.Meta{}, "acme", "dee@acme.test"); err != nil {
			t.Fatal(err)
		}
		old := e.onlyMail(t, "dee@acme.test", "reset", "rpr_")
		if err := e.svc.RequestPasswordReset(ctx, identity.Meta{}, "acme", "dee@acme.test"); err != nil {
			t.Fatal(err)
		}
		current := e.onlyMail(t, "dee@acme.test", "reset", "rpr_")
		if _, err := e.svc.ConfirmPasswordReset(ctx, identity.Meta{}, old, newPassword); errs.KindOf(err) != errs.Invalid ||
			!strings.Contains(errs.SafeMessage(err), "is not valid") {
			t.Fatalf("replaced link: %v", err)
		}
		e.clock.add(30*time.Minute + time.Second)
		if _, err := e.svc.ConfirmPasswordReset(ctx, identity.Meta{}, current, newPassword); errs.KindOf(err) != errs.Invalid ||
			!strings.Contains(errs.SafeMessage(err), "expired") {
			t.Fatalf("expired link: %v", err)
		}
		if _, err := e.login(t, "acme", "dee@acme.test", goodPassword); err != nil {
			t.Fatalf("the password changed without a valid link: %v", err)
		}
	})
}

func TestPasswordResetRequestsAreRateLimitedAlikeForEveryAccount(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "eli@acme.test", authz.RoleMember)
		for _, who := range []string{"eli@acme.test", "ghost@acme.test"} {
			for i := range 3 {
				if err := e.svc.RequestPasswordReset(ctx, identity.Meta{IP: "203.0.113.50"}, "acme", who); err != nil {
					t.Fatalf("%s request %d: %v", who, i+1, err)
				}
			}
			// Three requests are free; the fourth starts a backoff, so the
			// fifth and later are refused within the hour, the same for
			// the real and the unknown account.
			for range 2 {
				_ = e.svc.RequestPasswordReset(ctx, identity.Meta{IP: "203.0.113.50"}, "acme", who)
			}
			err := e.svc.RequestPasswordReset(ctx, identity.Meta{IP: "203.0.113.50"}, "acme", who)
			if errs.KindOf(err) != errs.RateLimited || identity.RetryAfter(err) <= 0 {
				t.Fatalf("%s: %v", who, err)
			}
		}
		e.svc.WaitForMail()
		if n := len(e.mail.take()); n != 4 {
			t.Fatalf("%d mails, want 4 (the real account's requests before the limit)", n)
		}
		// Asking for resets does not lock the account out of signing in.
		if _, err := e.login(t, "acme", "eli@acme.test", goodPassword); err != nil {
			t.Fatalf("login after many reset requests: %v", err)
		}
	})
}
