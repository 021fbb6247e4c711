package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
)

// The kinds of Principal.
const (
	KindUser     = "user"     // a member signed in with a session
	KindToken    = "token"    // a member's personal API token
	KindClient   = "client"   // an OAuth client acting for itself or for a member
	KindOperator = "operator" // platform staff; see Principal
)

// Principal is the authenticated caller of one request. The authentication
// layer builds it (roles loaded fresh from the identity store, so a role
// change takes effect on the next request) and puts it in the context with
// WithPrincipal; every handler then asks Can.
//
// A principal acts in exactly one organization, OrgID. Being an operator
// grants nothing by itself: staff reach a tenant's data only through a
// support grant (FEATURES IA9), which the authentication layer turns into a
// time-boxed role on an operator principal for that organization.
type Principal struct {
	UserID string // the member, or the client id for a client acting for itself
	OrgID  string // the organization every check is made in
	Kind   string // KindUser, KindToken, KindClient or KindOperator
	Roles  []Role // the member's roles (built-in ones by name; see BuiltinRole)
	// TokenPermissions is what an API token or OAuth client was granted
	// (its scopes). The principal may then do only what both the token and
	// its roles allow: a token narrows a member's rights, never widens them.
	// Tokens and clients are always narrowed this way, even when this is
	// nil, so forgetting to load the scopes fails closed.
	TokenPermissions []Permission
}

// valid reports whether p is a complete principal. Anything else (the zero
// value, a missing organization, a kind this package does not know) is
// treated as no principal at all rather than guessed at.
func (p Principal) valid() bool {
	switch p.Kind {
	case KindUser, KindToken, KindClient, KindOperator:
		return p.UserID != "" && p.OrgID != ""
	}
	return false
}

// tokenLimited reports whether TokenPermissions narrows p.
func (p Principal) tokenLimited() bool {
	return p.Kind == KindToken || p.Kind == KindClient || p.TokenPermissions != nil
}

// clone deep-copies p so that the principal stored in a context cannot be
// changed through slices its creator or a handler still holds. Nil stays
// nil and empty stays empty: for TokenPermissions the two differ.
func (p Principal) clone() Principal {
	c := p
	c.TokenPermissions = slices.Clone(p.TokenPermissions)
	if p.Roles != nil {
		c.Roles = make([]Role, len(p.Roles))
		for i, r := range p.Roles {
			r.Permissions = slices.Clone(r.Permissions)
			r.Collections = slices.Clone(r.Collections)
			c.Roles[i] = r
		}
	}
	return c
}

type principalKey struct{}

// WithPrincipal returns a context carrying a copy of p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p.clone())
}

// PrincipalFrom returns a copy of the principal in ctx, if there is one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := principalIn(ctx)
	if !ok {
		return Principal{}, false
	}
	return p.clone(), true
}

// principalIn returns the stored principal without copying it, for checks
// that only read it; only complete principals count.
func principalIn(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	if !ok || !p.valid() {
		return Principal{}, false
	}
	return p, true
}

// Resource is what a check is about.
type Resource struct {
	// OrgID is the organization the object belongs to, as loaded from the
	// store; empty means the principal's own organization (an action on
	// the organization itself, or a store that already filters by it).
	OrgID string
	// Collection is the collection a records.* or files.* check is about.
	// Empty means no single collection (listing every collection, a file
	// attached to none): only a grant for all collections covers that.
	Collection string
}

// Can is the one permission check: it returns nil when the principal in ctx
// may use perm on res. Its errors are
//   - errs.Unauthorized when ctx has no (complete) principal;
//   - errs.NotFound, without a message, when res belongs to another
//     organization, whatever the principal's roles, so that a caller
//     cannot learn that another tenant's object exists; handlers answer it
//     exactly as they answer a missing object;
//   - errs.Forbidden "missing permission <perm>" when the principal's roles
//     (narrowed by its token, limited to their collections) do not grant
//     perm;
//   - an internal error for a permission outside the catalogue, a bug in
//     the caller that must not be mistaken for a denial it could fix.
func Can(ctx context.Context, perm Permission, res Resource) error {
	const op = "authz.Can"
	p, ok := principalIn(ctx)
	if !ok {
		return errs.E(errs.Unauthorized, op, "authentication required")
	}
	if !perm.known() {
		return errs.E(errs.Other, op, fmt.Errorf("check of unknown permission %q", string(perm)))
	}
	if res.OrgID != "" && res.OrgID != p.OrgID {
		return errs.E(errs.NotFound, op)
	}
	if !p.allows(perm, res.Collection) {
		return errs.E(errs.Forbidden, op, "missing permission "+string(perm))
	}
	return nil
}

// allows reports whether p holds perm for collection ("" asks for every
// collection). Roles add up: one role allowing it is enough. perm must be
// known.
func (p Principal) allows(perm Permission, collection string) bool {
	if p.tokenLimited() && !slices.Contains(p.TokenPermissions, perm) {
		return false
	}
	scoped := perm.collectionScoped()
	for _, r := range p.Roles {
		if r.Builtin {
			// A built-in role is what this package says it is, not what
			// the Role value carries: a stale or forged list cannot widen it.
			if set, ok := builtinSet(r.Name); ok && set.has(perm) {
				return true
			}
			continue
		}
		if !slices.Contains(r.Permissions, perm) {
			continue
		}
		if !scoped || len(r.Collections) == 0 {
			return true
		}
		if collection != "" && slices.Contains(r.Collections, collection) {
			return true
		}
	}
	return false
}

// Effective returns, sorted by name, every permission p holds in at least
// one collection (GET /me shows it; Can is still the check). It is empty,
// never nil, for an incomplete principal or one without permissions.
func Effective(p Principal) []Permission {
	if !p.valid() {
		return []Permission{}
	}
	var set permSet
	for _, r := range p.Roles {
		if r.Builtin {
			s, _ := builtinSet(r.Name)
			set |= s
			continue
		}
		set |= setOf(r.Permissions...)
	}
	if p.tokenLimited() {
		set &= setOf(p.TokenPermissions...)
	}
	out := set.list()
	slices.Sort(out)
	return out
}

// CanGrant checks that the principal in ctx could hold role r itself: every
// permission r carries must be one the principal has, over at least the
// same collections. Handlers call it, besides Can(roles.manage or
// members.manage), before creating or changing a custom role, before giving
// a role to a member, and before taking a role away from one, so that
// nobody raises their own or anyone's rights above theirs (an admin cannot
// create a role with keys.manage, or make or unmake an owner). Validate r
// first: unknown permissions in r are ignored here. Errors: errs.Unauthorized
// without a principal, errs.Forbidden naming what is missing.
func CanGrant(ctx context.Context, r Role) error {
	const op = "authz.CanGrant"
	p, ok := principalIn(ctx)
	if !ok {
		return errs.E(errs.Unauthorized, op, "authentication required")
	}
	var perms []Permission
	var collections []string
	if r.Builtin {
		set, _ := builtinSet(r.Name)
		perms = set.list()
	} else {
		perms, collections = r.Permissions, r.Collections
	}
	var missing []string
	for _, perm := range perms {
		if !perm.known() {
			continue
		}
		switch {
		case !perm.collectionScoped():
			if !p.allows(perm, "") {
				missing = append(missing, string(perm))
			}
		case len(collections) == 0:
			if !p.allows(perm, "") {
				missing = append(missing, string(perm)+" in every collection")
			}
		default:
			for _, c := range collections {
				if !p.allows(perm, c) {
					missing = append(missing, string(perm)+" in "+quote(c))
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	shown := missing
	if len(shown) > maxListed {
		shown = shown[:maxListed]
	}
	msg := "cannot grant permissions you do not hold: " + strings.Join(shown, ", ")
	if n := len(missing) - len(shown); n > 0 {
		msg += fmt.Sprintf(" and %d more", n)
	}
	return errs.E(errs.Forbidden, op, msg)
}
