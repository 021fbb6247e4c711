package authz_test

import (
	"context"
	"testing"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
)

// validList is the catalogue as error messages list it.
const validList = "records.read, records.write, files.read, files.write, collections.manage, " +
	"members.read, members.manage, roles.manage, policy.manage, sessions.manage, audit.read, " +
	"secrets.use, secrets.manage, clients.manage, sso.manage, keys.manage, org.delete, kyc.verify"

// builtin returns the named built-in role or stops the test.
func builtin(t testing.TB, name string) authz.Role {
	t.Helper()
	r, ok := authz.BuiltinRole(name)
	if !ok {
		t.Fatalf("BuiltinRole(%q) not found", name)
	}
	return r
}

// user is a signed-in member of org-a holding roles.
func user(roles ...authz.Role) authz.Principal {
	return authz.Principal{UserID: "user-1", OrgID: "org-a", Kind: authz.KindUser, Roles: roles}
}

// token is a member's API token limited to perms.
func token(perms []authz.Permission, roles ...authz.Role) authz.Principal {
	p := user(roles...)
	p.Kind = authz.KindToken
	p.TokenPermissions = perms
	return p
}

// as returns a context carrying p.
func as(p authz.Principal) context.Context {
	return authz.WithPrincipal(context.Background(), p)
}

// wantAllowed fails unless err is nil.
func wantAllowed(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("got %v (%s), want allowed", err, errs.KindOf(err))
	}
}

// wantDenied fails unless err has the kind and safe message given.
func wantDenied(t testing.TB, err error, kind errs.Kind, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed, want %s %q", kind, message)
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("kind = %s (%v), want %s", got, err, kind)
	}
	if got := errs.SafeMessage(err); got != message {
		t.Fatalf("message = %q, want %q", got, message)
	}
}
