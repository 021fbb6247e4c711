package authz_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
)

// notesEditor may read and write records and read files, but only in the
// "notes" collection, and may see the member list everywhere.
var notesEditor = authz.Role{
	Name:        "notes-editor",
	Permissions: []authz.Permission{authz.RecordsRead, authz.RecordsWrite, authz.FilesRead, authz.MembersRead},
	Collections: []string{"notes"},
}

func TestAnotherTenantsObjectIsNotFoundForEveryRole(t *testing.T) {
	operator := user(builtin(t, authz.RoleOwner))
	operator.Kind = authz.KindOperator
	principals := map[string]authz.Principal{
		"an owner":               user(builtin(t, authz.RoleOwner)),
		"an admin":               user(builtin(t, authz.RoleAdmin)),
		"a member":               user(builtin(t, authz.RoleMember)),
		"an auditor":             user(builtin(t, authz.RoleAuditor)),
		"a notes editor":         user(notesEditor),
		"a member without roles": user(),
		"an owner's API token with every permission": token(allPermissions(), builtin(t, authz.RoleOwner)),
		"an operator with an owner grant":            operator,
		"an OAuth client with every scope":           {UserID: "client-1", OrgID: "org-a", Kind: authz.KindClient, Roles: []authz.Role{builtin(t, authz.RoleOwner)}, TokenPermissions: allPermissions()},
	}
	for who, p := range principals {
		for _, info := range authz.Catalogue() {
			for _, collection := range []string{"", "notes"} {
				name := who + " gets not-found for " + string(info.Name) + " in org-b"
				if collection != "" {
					name += " collection " + collection
				}
				t.Run(name, func(t *testing.T) {
					err := authz.Can(as(p), info.Name, authz.Resource{OrgID: "org-b", Collection: collection})
					// No message: the handler answers exactly as for a
					// missing object, and nothing names org-b.
					wantDenied(t, err, errs.NotFound, "")
					if strings.Contains(err.Error(), "org-b") {
						t.Fatalf("error names the other tenant: %v", err)
					}
				})
			}
		}
	}
}

// allPermissions is the whole catalogue as a list.
func allPermissions() []authz.Permission {
	var out []authz.Permission
	for _, info := range authz.Catalogue() {
		out = append(out, info.Name)
	}
	return out
}

func TestOwnTenantResourceIsChecked(t *testing.T) {
	t.Run("an empty organization means the principal's own", func(t *testing.T) {
		wantAllowed(t, authz.Can(as(user(builtin(t, authz.RoleMember))), authz.RecordsRead, authz.Resource{}))
	})
	t.Run("the principal's own organization id is allowed", func(t *testing.T) {
		wantAllowed(t, authz.Can(as(user(builtin(t, authz.RoleMember))), authz.RecordsRead, authz.Resource{OrgID: "org-a"}))
	})
}

// otherKey is some other package's context key.
type otherKey struct{}

func TestWithoutAPrincipalEveryCheckIsUnauthorized(t *testing.T) {
	owner := builtin(t, authz.RoleOwner)
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"a context without a principal", context.Background()},
		{"a zero principal", as(authz.Principal{})},
		{"a principal without an organization", as(authz.Principal{UserID: "user-1", Kind: authz.KindUser, Roles: []authz.Role{owner}})},
		{"a principal without a user", as(authz.Principal{OrgID: "org-a", Kind: authz.KindUser, Roles: []authz.Role{owner}})},
		{"a principal without a kind", as(authz.Principal{UserID: "user-1", OrgID: "org-a", Roles: []authz.Role{owner}})},
		{"a principal of an unknown kind", as(authz.Principal{UserID: "user-1", OrgID: "org-a", Kind: "root", Roles: []authz.Role{owner}})},
		{"a principal stored under another key", context.WithValue(context.Background(), otherKey{}, user(owner))},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is unauthorized", func(t *testing.T) {
			wantDenied(t, authz.Can(tt.ctx, authz.RecordsRead, authz.Resource{}), errs.Unauthorized, "authentication required")
			wantDenied(t, authz.Can(tt.ctx, authz.RecordsRead, authz.Resource{OrgID: "org-b"}), errs.Unauthorized, "authentication required")
			wantDenied(t, authz.CanGrant(tt.ctx, builtin(t, authz.RoleAuditor)), errs.Unauthorized, "authentication required")
			if _, ok := authz.PrincipalFrom(tt.ctx); ok {
				t.Fatal("PrincipalFrom found a principal")
			}
		})
	}
	t.Run("an incomplete principal has no effective permissions", func(t *testing.T) {
		if got := authz.Effective(authz.Principal{Roles: []authz.Role{owner}}); got == nil || len(got) != 0 {
			t.Fatalf("Effective = %#v, want an empty list", got)
		}
	})
}

func TestCheckingAnUnknownPermissionIsAnInternalError(t *testing.T) {
	err := authz.Can(as(user(builtin(t, authz.RoleOwner))), "records.delete", authz.Resource{})
	if errs.KindOf(err) != errs.Other {
		t.Fatalf("got %v (%s), want an internal error", err, errs.KindOf(err))
	}
}

func TestTokenPermissionsIntersectRoles(t *testing.T) {
	owner, member := builtin(t, authz.RoleOwner), builtin(t, authz.RoleMember)
	readOnly := []authz.Permission{authz.RecordsRead}
	tests := []struct {
		name      string
		principal authz.Principal
		perm      authz.Permission
		allowed   bool
	}{
		{"an owner's records.read token can read records", token(readOnly, owner), authz.RecordsRead, true},
		{"an owner's records.read token cannot write records", token(readOnly, owner), authz.RecordsWrite, false},
		{"an owner's records.read token cannot delete the organization", token(readOnly, owner), authz.OrgDelete, false},
		{"a member's token claiming keys.manage gets nothing extra", token([]authz.Permission{authz.KeysManage, authz.RecordsRead}, member), authz.KeysManage, false},
		{"a member's token claiming keys.manage keeps what both allow", token([]authz.Permission{authz.KeysManage, authz.RecordsRead}, member), authz.RecordsRead, true},
		{"a token with an empty permission list can do nothing", token([]authz.Permission{}, owner), authz.RecordsRead, false},
		{"a token whose permissions were never loaded can do nothing", token(nil, owner), authz.RecordsRead, false},
		{"a client whose scopes were never loaded can do nothing",
			authz.Principal{UserID: "client-1", OrgID: "org-a", Kind: authz.KindClient, Roles: []authz.Role{owner}}, authz.RecordsRead, false},
		{"a client with a scope its roles grant may use it",
			authz.Principal{UserID: "client-1", OrgID: "org-a", Kind: authz.KindClient, Roles: []authz.Role{owner}, TokenPermissions: readOnly}, authz.RecordsRead, true},
		{"a token of a member without roles gets nothing from its own permissions", token(readOnly), authz.RecordsRead, false},
		{"a signed-in user narrowed by permissions is narrowed too",
			authz.Principal{UserID: "user-1", OrgID: "org-a", Kind: authz.KindUser, Roles: []authz.Role{owner}, TokenPermissions: readOnly}, authz.RecordsWrite, false},
		{"an operator gets nothing for being an operator",
			authz.Principal{UserID: "staff-1", OrgID: "org-a", Kind: authz.KindOperator}, authz.RecordsRead, false},
		{"an operator with a support-grant role gets that role's permissions",
			authz.Principal{UserID: "staff-1", OrgID: "org-a", Kind: authz.KindOperator, Roles: []authz.Role{builtin(t, authz.RoleAuditor)}}, authz.AuditRead, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.Can(as(tt.principal), tt.perm, authz.Resource{OrgID: "org-a", Collection: "notes"})
			if tt.allowed {
				wantAllowed(t, err)
			} else {
				wantDenied(t, err, errs.Forbidden, "missing permission "+string(tt.perm))
			}
			if got := slices.Contains(authz.Effective(tt.principal), tt.perm); got != tt.allowed {
				t.Fatalf("Effective contains %s = %v, want %v", tt.perm, got, tt.allowed)
			}
		})
	}
}

func TestCollectionLimitedRole(t *testing.T) {
	editor := user(notesEditor)
	tests := []struct {
		name       string
		principal  authz.Principal
		perm       authz.Permission
		collection string
		allowed    bool
	}{
		{"a notes editor can read notes", editor, authz.RecordsRead, "notes", true},
		{"a notes editor can write notes", editor, authz.RecordsWrite, "notes", true},
		{"a notes editor can read files in notes", editor, authz.FilesRead, "notes", true},
		{"a notes editor cannot read invoices", editor, authz.RecordsRead, "invoices", false},
		{"a notes editor cannot write invoices", editor, authz.RecordsWrite, "invoices", false},
		{"a notes editor cannot read files in invoices", editor, authz.FilesRead, "invoices", false},
		{"a notes editor cannot read across every collection", editor, authz.RecordsRead, "", false},
		{"a notes editor cannot read a collection whose name only differs in case", editor, authz.RecordsRead, "Notes", false},
		{"a notes editor still cannot write files it was not given", editor, authz.FilesWrite, "notes", false},
		{"a notes editor's members.read is unaffected by the collection", editor, authz.MembersRead, "invoices", true},
		{"a notes editor's members.read needs no collection", editor, authz.MembersRead, "", true},
		{"a notes editor who is also a member reads invoices through the member role",
			user(notesEditor, builtin(t, authz.RoleMember)), authz.RecordsRead, "invoices", true},
		{"a notes editor's token keeps the collection limit",
			token([]authz.Permission{authz.RecordsRead}, notesEditor), authz.RecordsRead, "invoices", false},
		{"an unlimited custom role reads every collection",
			user(authz.Role{Name: "reader", Permissions: []authz.Permission{authz.RecordsRead}}), authz.RecordsRead, "invoices", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.Can(as(tt.principal), tt.perm, authz.Resource{OrgID: "org-a", Collection: tt.collection})
			if tt.allowed {
				wantAllowed(t, err)
			} else {
				wantDenied(t, err, errs.Forbidden, "missing permission "+string(tt.perm))
			}
		})
	}
}

func TestPrincipalInContextIsACopy(t *testing.T) {
	roles := []authz.Role{{Name: "reader", Permissions: []authz.Permission{authz.RecordsRead}, Collections: []string{"notes"}}}
	scopes := []authz.Permission{authz.RecordsRead}
	p := authz.Principal{UserID: "user-1", OrgID: "org-a", Kind: authz.KindToken, Roles: roles, TokenPermissions: scopes}
	ctx := as(p)

	// The creator's slices change after the fact...
	roles[0].Permissions[0] = authz.OrgDelete
	roles[0].Collections[0] = "invoices"
	scopes[0] = authz.OrgDelete
	// ...and so does a copy a handler got back.
	got, ok := authz.PrincipalFrom(ctx)
	if !ok {
		t.Fatal("PrincipalFrom found nothing")
	}
	got.Roles[0] = builtin(t, authz.RoleOwner)
	got.TokenPermissions = append(got.TokenPermissions[:0], authz.OrgDelete)

	t.Run("the stored principal still reads notes", func(t *testing.T) {
		wantAllowed(t, authz.Can(ctx, authz.RecordsRead, authz.Resource{Collection: "notes"}))
	})
	t.Run("the stored principal still cannot delete the organization", func(t *testing.T) {
		wantDenied(t, authz.Can(ctx, authz.OrgDelete, authz.Resource{}), errs.Forbidden, "missing permission org.delete")
	})
	t.Run("an empty token permission list stays empty, not nil", func(t *testing.T) {
		got, _ := authz.PrincipalFrom(as(user()))
		if got.TokenPermissions != nil {
			t.Fatal("nil became non-nil")
		}
		got, _ = authz.PrincipalFrom(as(authz.Principal{UserID: "u", OrgID: "o", Kind: authz.KindUser, TokenPermissions: []authz.Permission{}}))
		if got.TokenPermissions == nil {
			t.Fatal("an empty, narrowing list became nil, which would not narrow")
		}
	})
}

func TestEffective(t *testing.T) {
	tests := []struct {
		name      string
		principal authz.Principal
		want      []authz.Permission
	}{
		{"an auditor has audit.read and members.read", user(builtin(t, authz.RoleAuditor)),
			[]authz.Permission{authz.AuditRead, authz.MembersRead}},
		{"a member's permissions come sorted by name", user(builtin(t, authz.RoleMember)),
			[]authz.Permission{authz.FilesRead, authz.FilesWrite, authz.MembersRead, authz.RecordsRead, authz.RecordsWrite}},
		{"roles add up without duplicates", user(builtin(t, authz.RoleAuditor), notesEditor),
			[]authz.Permission{authz.AuditRead, authz.FilesRead, authz.MembersRead, authz.RecordsRead, authz.RecordsWrite}},
		{"a token shows only what both it and its roles allow", token([]authz.Permission{authz.RecordsRead, authz.KeysManage}, builtin(t, authz.RoleMember)),
			[]authz.Permission{authz.RecordsRead}},
		{"a member without roles has none", user(), []authz.Permission{}},
		{"unknown permissions of a custom role are not shown", user(authz.Role{Name: "odd", Permissions: []authz.Permission{"everything", authz.AuditRead}}),
			[]authz.Permission{authz.AuditRead}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := authz.Effective(tt.principal); got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Effective = %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("an owner has the whole catalogue, sorted", func(t *testing.T) {
		want := allPermissions()
		slices.Sort(want)
		if got := authz.Effective(user(builtin(t, authz.RoleOwner))); !slices.Equal(got, want) {
			t.Fatalf("Effective = %v, want %v", got, want)
		}
	})
}

func TestCanGrant(t *testing.T) {
	owner, admin, member := builtin(t, authz.RoleOwner), builtin(t, authz.RoleAdmin), builtin(t, authz.RoleMember)
	keyKeeper := authz.Role{Name: "key-keeper", Permissions: []authz.Permission{authz.KeysManage, authz.AuditRead}}
	invoiceReader := authz.Role{Name: "invoice-reader", Permissions: []authz.Permission{authz.RecordsRead}, Collections: []string{"invoices"}}
	notesReader := authz.Role{Name: "notes-reader", Permissions: []authz.Permission{authz.RecordsRead, authz.MembersRead}, Collections: []string{"notes"}}
	tests := []struct {
		name    string
		actor   authz.Principal
		role    authz.Role
		message string // empty when allowed
	}{
		{"an owner can grant the owner role", user(owner), owner, ""},
		{"an admin can grant the admin role", user(admin), admin, ""},
		{"an admin can grant the member role", user(admin), member, ""},
		{"an admin cannot grant the owner role", user(admin), owner,
			"cannot grant permissions you do not hold: keys.manage, org.delete"},
		{"an admin cannot create a role with keys.manage", user(admin), keyKeeper,
			"cannot grant permissions you do not hold: keys.manage"},
		{"a member cannot grant the owner role, and a long list is cut", user(member), owner,
			"cannot grant permissions you do not hold: collections.manage, members.manage, roles.manage, policy.manage, " +
				"sessions.manage, audit.read, secrets.use, secrets.manage, clients.manage, sso.manage and 3 more"},
		{"a notes editor can grant reading notes", user(notesEditor), notesReader, ""},
		{"a notes editor cannot grant reading invoices", user(notesEditor), invoiceReader,
			`cannot grant permissions you do not hold: records.read in "invoices"`},
		{"a notes editor cannot grant reading every collection", user(notesEditor), authz.Role{Name: "reader", Permissions: []authz.Permission{authz.RecordsRead}},
			"cannot grant permissions you do not hold: records.read in every collection"},
		{"an owner's read-only token cannot grant the member role", token([]authz.Permission{authz.RecordsRead, authz.RolesManage}, owner), member,
			"cannot grant permissions you do not hold: records.write in every collection, files.read in every collection, " +
				"files.write in every collection, members.read"},
		{"a forged built-in role is judged by its real permissions", user(member),
			authz.Role{Name: authz.RoleAuditor, Builtin: true, Permissions: []authz.Permission{authz.RecordsRead}},
			"cannot grant permissions you do not hold: audit.read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.CanGrant(as(tt.actor), tt.role)
			if tt.message == "" {
				wantAllowed(t, err)
				return
			}
			wantDenied(t, err, errs.Forbidden, tt.message)
		})
	}
}

// BenchmarkCan measures the check every request makes; it should not
// allocate, so it costs nothing next to the request around it.
func BenchmarkCan(b *testing.B) {
	ctx := as(token([]authz.Permission{authz.RecordsRead, authz.RecordsWrite}, notesEditor, builtin(b, authz.RoleAuditor)))
	res := authz.Resource{OrgID: "org-a", Collection: "notes"}
	b.ReportAllocs()
	for b.Loop() {
		if err := authz.Can(ctx, authz.RecordsWrite, res); err != nil {
			b.Fatal(err)
		}
	}
}
