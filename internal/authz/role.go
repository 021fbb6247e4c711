package authz

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Role is a named set of permissions given to members (and, through them,
// to their tokens). Built-in roles are defined by this package and cannot be
// changed; custom roles are defined per organization and checked by
// ValidateRole before they are stored.
type Role struct {
	Name        string       `json:"name"`
	Builtin     bool         `json:"builtin"`
	Permissions []Permission `json:"permissions"`
	// Collections, when non-empty, limits the role's records.* and files.*
	// permissions to the collections named; empty means every collection.
	// Other permissions act on the whole organization either way.
	Collections []string `json:"collections,omitempty"`
}

// The built-in role names. They are reserved: no custom role may use them.
const (
	RoleOwner   = "owner"
	RoleAdmin   = "admin"
	RoleMember  = "member"
	RoleAuditor = "auditor"
)

// builtinSet returns the permissions of the built-in role called name. The
// definitions live here, in code, rather than in the database: a built-in
// role means the same thing in every organization and no stored row can
// widen it (Can resolves a role marked Builtin through this function and
// ignores the Permissions it carries).
func builtinSet(name string) (permSet, bool) {
	switch name {
	case RoleOwner:
		return allPermissions, true
	case RoleAdmin:
		// Everything needed to run the organization day to day, but not
		// the two irreversible or root-of-trust operations: deleting the
		// organization (crypto-shredding) and managing its keys stay with
		// owners, so a compromised admin account cannot destroy the tenant.
		return allPermissions &^ setOf(OrgDelete, KeysManage), true
	case RoleMember:
		// Works with the tenant's data and sees who else is in the
		// organization; no settings, no audit log, no stored credentials.
		return setOf(RecordsRead, RecordsWrite, FilesRead, FilesWrite, MembersRead), true
	case RoleAuditor:
		// Least privilege for reviewing: the audit log and who holds which
		// role, but not the data itself; give a custom role for more.
		return setOf(AuditRead, MembersRead), true
	}
	return 0, false
}

// builtinNames lists the built-in roles from most to least powerful.
func builtinNames() [4]string { return [4]string{RoleOwner, RoleAdmin, RoleMember, RoleAuditor} }

// BuiltinRoles returns the built-in roles, from most to least powerful. Each
// call returns fresh slices, so a caller cannot alter the definitions.
func BuiltinRoles() []Role {
	names := builtinNames()
	roles := make([]Role, 0, len(names))
	for _, name := range names {
		r, _ := BuiltinRole(name)
		roles = append(roles, r)
	}
	return roles
}

// BuiltinRole returns the built-in role called name, or false if there is
// none; the identity store uses it to turn a stored role name into a Role.
func BuiltinRole(name string) (Role, bool) {
	set, ok := builtinSet(name)
	if !ok {
		return Role{}, false
	}
	return Role{Name: name, Builtin: true, Permissions: set.list()}, true
}

// IsBuiltin reports whether name is reserved for a built-in role.
func IsBuiltin(name string) bool {
	_, ok := builtinSet(name)
	return ok
}

var (
	roleNamePattern       = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,39}$`)
	collectionNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

// Limits that keep a role, and the error about it, small whatever the input.
const (
	maxRoleCollections = 100 // collections one role may be limited to
	maxProblems        = 20  // problems listed in one error; the rest are counted
)

// ValidateRole checks a custom role before it is stored: its name (2 to 40
// characters, a lowercase letter then lowercase letters, digits, "_" or "-",
// not a built-in name), its permissions (at least one, all known, none
// twice) and its collections (valid names, none twice, at most 100, and only
// on a role that has a records.* or files.* permission for them to limit).
// The error, of kind errs.Invalid, lists every problem, one per line, each
// naming the field, the rule and the bad value.
func ValidateRole(r Role) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch {
	case IsBuiltin(r.Name):
		add("name: %s is reserved for a built-in role", quote(r.Name))
	case !roleNamePattern.MatchString(r.Name):
		add(`name: %s must be 2 to 40 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"`, quote(r.Name))
	}
	if r.Builtin {
		add("builtin: built-in roles are fixed and cannot be created or changed")
	}

	if len(r.Permissions) == 0 {
		add("permissions: at least one is required")
	}
	var seen, reported permSet
	var unknown []string
	scoped := false
	for _, p := range r.Permissions {
		i := p.index()
		if i < 0 {
			unknown = append(unknown, string(p))
			continue
		}
		scoped = scoped || p.collectionScoped()
		if seen&(1<<i) != 0 {
			if reported&(1<<i) == 0 {
				add("permissions: %s is listed more than once", quote(string(p)))
				reported |= 1 << i
			}
			continue
		}
		seen |= 1 << i
	}
	if len(unknown) > 0 {
		add("permissions: unknown %s; valid permissions are %s", quoteList(unknown), validNames())
	}

	if n := len(r.Collections); n > maxRoleCollections {
		// Checking each of a hostile number of names would only bury the
		// real problem.
		add("collections: at most %d may be listed, got %d", maxRoleCollections, n)
	} else {
		// Each bad name is reported once, however often it is repeated.
		occurrences := make(map[string]int, n)
		for _, c := range r.Collections {
			occurrences[c]++
			switch {
			case !collectionNamePattern.MatchString(c):
				if occurrences[c] == 1 {
					add(`collections: %s must be 1 to 63 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"`, quote(c))
				}
			case occurrences[c] == 2:
				add("collections: %s is listed more than once", quote(c))
			}
		}
	}
	if len(r.Collections) > 0 && !scoped {
		// Collections only limit records.* and files.*; on any other role
		// they would look like a restriction while restricting nothing.
		add("collections: only limit records.* and files.* permissions, and the role has none")
	}

	if len(problems) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "authz.ValidateRole", report("invalid role "+quote(r.Name), problems))
}

// report formats problems as the configuration loader does: a single
// problem on one line, several as a counted heading and one per line.
func report(heading string, problems []string) string {
	if len(problems) == 1 {
		return heading + ": " + problems[0]
	}
	lines := []string{heading + " (" + strconv.Itoa(len(problems)) + " problems):"}
	if len(problems) > maxProblems {
		lines = append(lines, problems[:maxProblems]...)
		lines = append(lines, "... and "+strconv.Itoa(len(problems)-maxProblems)+" more not shown")
	} else {
		lines = append(lines, problems...)
	}
	return strings.Join(lines, "\n")
}

// MustKeepOwner enforces the last-owner rule: removing is true when a change
// (removing a member, changing their role, deleting their account) takes the
// owner role away from someone, and currentOwners counts the owners before
// it. Without an owner nobody could delete the organization or manage its
// keys, and no admin could grant the owner role back, so the change is
// refused with errs.Conflict. Count and change must happen in one
// transaction, or two concurrent demotions could each see two owners.
func MustKeepOwner(currentOwners int, removing bool) error {
	if removing && currentOwners <= 1 {
		return errs.E(errs.Conflict, "authz.MustKeepOwner", "an organization must keep at least one owner")
	}
	return nil
}
