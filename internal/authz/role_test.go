package authz_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
)

// matrixRow says which built-in roles hold perm.
type matrixRow struct {
	perm                          authz.Permission
	owner, admin, member, auditor bool
}

// roleMatrix is what each built-in role may do: one row per catalogue
// permission. Changing a built-in role means changing this table (and the
// one in doc.go), on purpose.
var roleMatrix = []matrixRow{
	{authz.RecordsRead, true, true, true, false},
	{authz.RecordsWrite, true, true, true, false},
	{authz.FilesRead, true, true, true, false},
	{authz.FilesWrite, true, true, true, false},
	{authz.CollectionsManage, true, true, false, false},
	{authz.MembersRead, true, true, true, true},
	{authz.MembersManage, true, true, false, false},
	{authz.RolesManage, true, true, false, false},
	{authz.PolicyManage, true, true, false, false},
	{authz.SessionsManage, true, true, false, false},
	{authz.AuditRead, true, true, false, true},
	{authz.SecretsUse, true, true, false, false},
	{authz.SecretsManage, true, true, false, false},
	{authz.ClientsManage, true, true, false, false},
	{authz.SSOManage, true, true, false, false},
	{authz.KeysManage, true, false, false, false},
	{authz.OrgDelete, true, false, false, false},
	{authz.KYCVerify, true, true, false, false},
}

// matrixGrants reports the matrix entry for role and row i.
func matrixGrants(i int, role string) bool {
	row := roleMatrix[i]
	switch role {
	case authz.RoleOwner:
		return row.owner
	case authz.RoleAdmin:
		return row.admin
	case authz.RoleMember:
		return row.member
	case authz.RoleAuditor:
		return row.auditor
	}
	panic("unknown role " + role)
}

var builtinRoleNames = []string{authz.RoleOwner, authz.RoleAdmin, authz.RoleMember, authz.RoleAuditor}

func TestRoleMatrixCoversTheWholeCatalogue(t *testing.T) {
	cat := authz.Catalogue()
	if len(cat) != len(roleMatrix) {
		t.Fatalf("catalogue has %d permissions, matrix %d rows: add the new permission to roleMatrix", len(cat), len(roleMatrix))
	}
	for i, info := range cat {
		if roleMatrix[i].perm != info.Name {
			t.Errorf("matrix row %d is %s, catalogue has %s", i, roleMatrix[i].perm, info.Name)
		}
	}
}

func TestBuiltinRolesGrantExactlyTheMatrix(t *testing.T) {
	for _, role := range builtinRoleNames {
		for i, row := range roleMatrix {
			want := matrixGrants(i, role)
			verb := " may not "
			if want {
				verb = " may "
			}
			t.Run("a signed-in "+role+verb+string(row.perm), func(t *testing.T) {
				err := authz.Can(as(user(builtin(t, role))), row.perm, authz.Resource{OrgID: "org-a", Collection: "notes"})
				if want {
					wantAllowed(t, err)
				} else {
					wantDenied(t, err, errs.Forbidden, "missing permission "+string(row.perm))
				}
			})
		}
	}
}

func TestBuiltinRolesListTheMatrix(t *testing.T) {
	roles := authz.BuiltinRoles()
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, builtinRoleNames) {
		t.Fatalf("BuiltinRoles() = %v, want %v", names, builtinRoleNames)
	}
	for _, r := range roles {
		t.Run("the "+r.Name+" role lists its matrix permissions, unlimited", func(t *testing.T) {
			var want []authz.Permission
			for i, row := range roleMatrix {
				if matrixGrants(i, r.Name) {
					want = append(want, row.perm)
				}
			}
			if !r.Builtin || len(r.Collections) != 0 || !slices.Equal(r.Permissions, want) {
				t.Fatalf("role = %+v, want builtin with %v and no collection limit", r, want)
			}
			if !authz.IsBuiltin(r.Name) {
				t.Fatalf("IsBuiltin(%q) = false", r.Name)
			}
		})
	}
	t.Run("no other name is built in", func(t *testing.T) {
		for _, name := range []string{"", "Owner", "superuser", "operator", "owner "} {
			if authz.IsBuiltin(name) {
				t.Errorf("IsBuiltin(%q) = true", name)
			}
			if _, ok := authz.BuiltinRole(name); ok {
				t.Errorf("BuiltinRole(%q) found", name)
			}
		}
	})
}

// TestDocTableMatchesBuiltinRoles keeps the table in the package
// documentation true.
func TestDocTableMatchesBuiltinRoles(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for line := range strings.Lines(string(src)) {
		fields := strings.Fields(strings.TrimPrefix(line, "//"))
		if len(fields) != 5 || !strings.Contains(fields[0], ".") || strings.HasPrefix(fields[0], "authz.") {
			continue
		}
		i := slices.IndexFunc(roleMatrix, func(r matrixRow) bool { return string(r.perm) == fields[0] })
		if i < 0 {
			t.Errorf("doc.go table names unknown permission %s", fields[0])
			continue
		}
		rows++
		for j, role := range builtinRoleNames {
			if got, want := fields[j+1] == "yes", matrixGrants(i, role); got != want {
				t.Errorf("doc.go says %s has %s = %v; the role says %v", role, fields[0], got, want)
			}
		}
	}
	if rows != len(roleMatrix) {
		t.Fatalf("doc.go table has %d permission rows, want %d", rows, len(roleMatrix))
	}
}

func TestBuiltinRolesAreImmutable(t *testing.T) {
	t.Run("changing a returned role does not change the next one", func(t *testing.T) {
		roles := authz.BuiltinRoles()
		roles[3].Permissions[0] = authz.OrgDelete
		roles[3].Permissions = append(roles[3].Permissions, authz.KeysManage)
		if got := builtin(t, authz.RoleAuditor).Permissions; !slices.Equal(got, []authz.Permission{authz.MembersRead, authz.AuditRead}) {
			t.Fatalf("auditor now has %v", got)
		}
	})
	tests := []struct {
		name string
		role authz.Role
		perm authz.Permission
		want bool
	}{
		{"a built-in member role carrying forged permissions grants only member permissions",
			authz.Role{Name: authz.RoleMember, Builtin: true, Permissions: []authz.Permission{authz.OrgDelete}}, authz.OrgDelete, false},
		{"a built-in member role carrying no permissions still grants member permissions",
			authz.Role{Name: authz.RoleMember, Builtin: true}, authz.RecordsWrite, true},
		{"a built-in role carrying a collection limit ignores it",
			authz.Role{Name: authz.RoleMember, Builtin: true, Collections: []string{"notes"}}, authz.RecordsRead, true},
		{"a built-in role with an unknown name grants nothing",
			authz.Role{Name: "superuser", Builtin: true, Permissions: []authz.Permission{authz.RecordsRead}}, authz.RecordsRead, false},
		{"a custom role that borrows the owner name is not promoted to owner",
			authz.Role{Name: authz.RoleOwner, Permissions: []authz.Permission{authz.RecordsRead}}, authz.OrgDelete, false},
		{"a custom role that borrows the owner name keeps its own permissions",
			authz.Role{Name: authz.RoleOwner, Permissions: []authz.Permission{authz.RecordsRead}}, authz.RecordsRead, true},
		{"a custom role's unknown permission grants nothing, even when checked by that name",
			authz.Role{Name: "odd", Permissions: []authz.Permission{"everything"}}, authz.RecordsRead, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.Can(as(user(tt.role)), tt.perm, authz.Resource{})
			if tt.want {
				wantAllowed(t, err)
			} else {
				wantDenied(t, err, errs.Forbidden, "missing permission "+string(tt.perm))
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	const nameRule = `must be 2 to 40 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"`
	const collectionRule = `must be 1 to 63 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"`
	many := make([]string, 101)
	for i := range many {
		many[i] = "c" + strings.Repeat("x", i%50)
	}
	tests := []struct {
		name    string
		role    authz.Role
		message string // empty when the role is valid
	}{
		{"a role with known permissions is valid",
			authz.Role{Name: "support", Permissions: []authz.Permission{authz.MembersRead, authz.SessionsManage}}, ""},
		{"a role limited to collections is valid",
			authz.Role{Name: "notes_editor-2", Permissions: []authz.Permission{authz.RecordsRead, authz.RecordsWrite}, Collections: []string{"notes", "n", "long-name_9"}}, ""},
		{"a two-letter name is valid", authz.Role{Name: "ab", Permissions: []authz.Permission{authz.AuditRead}}, ""},
		{"a forty-letter name is valid", authz.Role{Name: strings.Repeat("a", 40), Permissions: []authz.Permission{authz.AuditRead}}, ""},
		{"a sixty-three-letter collection is valid",
			authz.Role{Name: "ab", Permissions: []authz.Permission{authz.FilesRead}, Collections: []string{strings.Repeat("c", 63)}}, ""},
		{"a one-letter name is refused", authz.Role{Name: "a", Permissions: []authz.Permission{authz.AuditRead}},
			`invalid role "a": name: "a" ` + nameRule},
		{"a forty-one-letter name is refused", authz.Role{Name: strings.Repeat("a", 41), Permissions: []authz.Permission{authz.AuditRead}},
			`invalid role "` + strings.Repeat("a", 41) + `": name: "` + strings.Repeat("a", 41) + `" ` + nameRule},
		{"a name starting with a digit is refused", authz.Role{Name: "1st", Permissions: []authz.Permission{authz.AuditRead}},
			`invalid role "1st": name: "1st" ` + nameRule},
		{"a built-in name is refused", authz.Role{Name: "admin", Permissions: []authz.Permission{authz.AuditRead}},
			`invalid role "admin": name: "admin" is reserved for a built-in role`},
		{"a role without permissions is refused", authz.Role{Name: "empty"},
			`invalid role "empty": permissions: at least one is required`},
		{"a permission listed three times is reported once",
			authz.Role{Name: "dup", Permissions: []authz.Permission{authz.AuditRead, authz.AuditRead, authz.AuditRead}},
			`invalid role "dup": permissions: "audit.read" is listed more than once`},
		{"collections on a role without records or files permissions are refused",
			authz.Role{Name: "ops", Permissions: []authz.Permission{authz.AuditRead}, Collections: []string{"notes"}},
			`invalid role "ops": collections: only limit records.* and files.* permissions, and the role has none`},
		{"more than a hundred collections are refused without checking each",
			authz.Role{Name: "wide", Permissions: []authz.Permission{authz.RecordsRead}, Collections: many},
			`invalid role "wide": collections: at most 100 may be listed, got 101`},
		{"every problem is listed at once",
			authz.Role{
				Name:        "Bad Name",
				Builtin:     true,
				Permissions: []authz.Permission{authz.RecordsRead, "records.delete", authz.RecordsRead, "everything"},
				Collections: []string{"notes", "Invoices", "notes", "", "Invoices"},
			},
			`invalid role "Bad Name" (7 problems):` +
				"\nname: \"Bad Name\" " + nameRule +
				"\nbuiltin: built-in roles are fixed and cannot be created or changed" +
				"\npermissions: \"records.read\" is listed more than once" +
				"\npermissions: unknown \"records.delete\", \"everything\"; valid permissions are " + validList +
				"\ncollections: \"Invoices\" " + collectionRule +
				"\ncollections: \"notes\" is listed more than once" +
				"\ncollections: \"\" " + collectionRule},
		{"a built-in role cannot be saved as custom",
			builtin(t, authz.RoleOwner),
			`invalid role "owner" (2 problems):` +
				"\nname: \"owner\" is reserved for a built-in role" +
				"\nbuiltin: built-in roles are fixed and cannot be created or changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.ValidateRole(tt.role)
			if tt.message == "" {
				wantAllowed(t, err)
				return
			}
			wantDenied(t, err, errs.Invalid, tt.message)
		})
	}
	t.Run("a hostile role yields a bounded error", func(t *testing.T) {
		bad := make([]string, 100)
		for i := range bad {
			bad[i] = strings.Repeat("X", 1000) + string(rune('a'+i%26)) + strings.Repeat("y", i)
		}
		err := authz.ValidateRole(authz.Role{Name: strings.Repeat("N", 1<<20), Permissions: []authz.Permission{authz.RecordsRead}, Collections: bad})
		msg := errs.SafeMessage(err)
		if errs.KindOf(err) != errs.Invalid || len(msg) > 4096 || !strings.Contains(msg, "... and 81 more not shown") {
			t.Fatalf("got %d-byte message %q", len(msg), msg)
		}
	})
}

func TestMustKeepOwner(t *testing.T) {
	tests := []struct {
		name     string
		owners   int
		removing bool
		refused  bool
	}{
		{"removing the only owner is refused", 1, true, true},
		{"removing an owner when none are counted is refused", 0, true, true},
		{"removing one of two owners is allowed", 2, true, false},
		{"a change that keeps the only owner is allowed", 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.MustKeepOwner(tt.owners, tt.removing)
			if !tt.refused {
				wantAllowed(t, err)
				return
			}
			wantDenied(t, err, errs.Conflict, "an organization must keep at least one owner")
		})
	}
}
