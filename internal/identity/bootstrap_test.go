package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func bootstrapToken(t *testing.T, l identity.BootstrapLink) string {
	t.Helper()
	token, ok := strings.CutPrefix(l.URL, "https://rampart.test/bootstrap#token=")
	if !ok || !strings.HasPrefix(token, "rpb_") {
		t.Fatalf("bootstrap link %q", l.URL)
	}
	return token
}

func TestBootstrapCreatesTheFirstOperatorOnce(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		m := identity.Meta{IP: "192.0.2.7"}
		if need, err := e.svc.NeedsBootstrap(ctx); err != nil || !need {
			t.Fatalf("NeedsBootstrap on a new instance: %v %v", need, err)
		}
		first, err := e.svc.IssueBootstrapLink(ctx, "system")
		if err != nil {
			t.Fatal(err)
		}
		if !first.ExpiresAt.Equal(e.clock.now().Add(time.Hour)) {
			t.Fatalf("expires at %v", first.ExpiresAt)
		}
		second, err := e.svc.IssueBootstrapLink(ctx, "operator:cli")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Bootstrap(ctx, m, bootstrapToken(t, first), "op@platform.test", goodPassword); errs.KindOf(err) != errs.Invalid ||
			!strings.Contains(errs.SafeMessage(err), "is not valid") {
			t.Fatalf("a link replaced by a newer one: %v", err)
		}
		token := bootstrapToken(t, second)
		_, err = e.svc.Bootstrap(ctx, m, token, "op@platform.test", "short")
		if errs.KindOf(err) != errs.Invalid || len(password.Violations(err)) == 0 {
			t.Fatalf("weak password: %v", err)
		}
		if _, err := e.svc.Bootstrap(ctx, m, token, "not an address", goodPassword); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("bad email: %v", err)
		}

		w, err := e.svc.Bootstrap(ctx, m, token, "Op@Platform.test", goodPassword)
		if err != nil {
			t.Fatalf("bootstrap after refused attempts (they must not consume the link): %v", err)
		}
		if w.OrgSlug != identity.PlatformOrgSlug || w.User.OrgID != identity.PlatformOrgID || w.User.Email != "op@platform.test" {
			t.Fatalf("welcome: %+v", w)
		}
		a, err := e.svc.AuthenticateSession(ctx, w.Session.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := identity.RequireOperator(ctx, a.Principal); err != nil {
			t.Fatalf("the first operator is not an operator: %v", err)
		}
		if _, err := e.login(t, identity.PlatformOrgSlug, "op@platform.test", goodPassword); err != nil {
			t.Fatalf("operator login: %v", err)
		}

		if _, err := e.svc.Bootstrap(ctx, m, token, "second@platform.test", goodPassword); errs.KindOf(err) != errs.Invalid ||
			!strings.Contains(errs.SafeMessage(err), "already been used") {
			t.Fatalf("second claim: %v", err)
		}
		if need, _ := e.svc.NeedsBootstrap(ctx); need {
			t.Fatal("NeedsBootstrap after the claim")
		}
		if _, err := e.svc.IssueBootstrapLink(ctx, "operator:cli"); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("a link issued with an operator present: %v", err)
		}
		if n := countAudit(t, db, identity.PlatformOrgID, "org.create", "bootstrap.claim", "member.create"); n != 3 {
			t.Fatalf("%d platform audit entries, want 3", n)
		}
		if n := countAudit(t, db, audit.PlatformOrg, "bootstrap.issue"); n != 2 {
			t.Fatalf("%d bootstrap.issue entries, want 2", n)
		}
	})
}

func TestExpiredBootstrapLinkCreatesNothing(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		l, err := e.svc.IssueBootstrapLink(ctx, "system")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Hour + time.Second)
		_, err = e.svc.Bootstrap(ctx, identity.Meta{}, bootstrapToken(t, l), "op@platform.test", goodPassword)
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "expired") {
			t.Fatalf("expired link: %v", err)
		}
		if need, _ := e.svc.NeedsBootstrap(ctx); !need {
			t.Fatal("an operator exists after an expired claim")
		}
		var n int
		_ = db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE id = ?", identity.PlatformOrgID).Scan(&n)
		})
		if n != 0 {
			t.Fatal("the platform organization was created by an expired claim")
		}
	})
}

func TestBootstrapRefusesATenantHoldingThePlatformSlug(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES ('squatter', 'platform', 'x', 1)")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := e.svc.IssueBootstrapLink(ctx, "system")
		token := bootstrapToken(t, l)
		if _, err := e.svc.Bootstrap(ctx, identity.Meta{}, token, "op@platform.test", goodPassword); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("bootstrap into a tenant's slug: %v", err)
		}
		if need, _ := e.svc.NeedsBootstrap(ctx); !need {
			t.Fatal("an operator was created")
		}
	})
}

func TestOnlyPlatformOwnersAndAdminsAreOperators(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		tenantOwner := e.session(t, "acme", "owner@acme.test")
		if err := identity.RequireOperator(ctx, tenantOwner.Principal); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a tenant's owner passed as an operator: %v", err)
		}
		l, _ := e.svc.IssueBootstrapLink(ctx, "system")
		w, err := e.svc.Bootstrap(ctx, identity.Meta{}, bootstrapToken(t, l), "op@platform.test", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		op, _ := e.svc.AuthenticateSession(ctx, w.Session.Token)
		if _, err := e.svc.CreateUser(ctx, op.Principal, identity.Meta{}, identity.NewUser{Email: "viewer@platform.test", Password: goodPassword, Roles: []string{authz.RoleAuditor}}); err != nil {
			t.Fatal(err)
		}
		viewer := e.session(t, identity.PlatformOrgSlug, "viewer@platform.test")
		if err := identity.RequireOperator(ctx, viewer.Principal); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a platform auditor passed as an operator: %v", err)
		}
		_, value, err := e.svc.CreateAPIToken(ctx, op, identity.Meta{}, "read-only", []string{"members.read"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ta, err := e.svc.AuthenticateToken(ctx, value)
		if err != nil {
			t.Fatal(err)
		}
		if err := identity.RequireOperator(ctx, ta.Principal); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("an operator's token without members.manage passed: %v", err)
		}
		_, value, err = e.svc.CreateAPIToken(ctx, op, identity.Meta{}, "ops", []string{"members.manage"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ta, err = e.svc.AuthenticateToken(ctx, value); err != nil {
			t.Fatal(err)
		}
		if err := identity.RequireOperator(ctx, ta.Principal); err != nil {
			t.Fatalf("an operator's token with members.manage: %v", err)
		}
	})
}
