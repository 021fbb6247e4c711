// Package authz decides what an authenticated caller may do inside its
// organization (requirement IA6). It is pure logic: the identity package
// stores roles and memberships and builds the Principal; authz holds the
// catalogue of permissions, the built-in roles, the rules for custom roles
// and the one check every handler makes:
//
//	if err := authz.Can(ctx, authz.RecordsWrite, authz.Resource{OrgID: rec.OrgID, Collection: "notes"}); err != nil {
//		return err
//	}
//
// The rules, all failing closed:
//   - No principal in the context (or an incomplete one) is errs.Unauthorized.
//   - An object of another organization is errs.NotFound for every role, so
//     a caller cannot tell another tenant's object from a missing one.
//   - Otherwise the permission must come from one of the principal's roles;
//     roles add up. A custom role limited to named collections grants its
//     records.* and files.* permissions only in those collections; its other
//     permissions act on the whole organization.
//   - An API token or OAuth client gets the intersection of its own
//     permissions (scopes) and its member's roles: it can narrow, never widen.
//   - Built-in roles are defined here, in code, and cannot be changed; a
//     stored role marked built-in is resolved by name, ignoring the
//     permissions it carries. An organization always keeps an owner
//     (MustKeepOwner), and nobody grants what they do not hold (CanGrant).
//
// Built-in roles (least privilege: members get the data, not the settings;
// auditors get the log, not the data; only owners can delete the
// organization or manage its keys). TestDocTableMatchesBuiltinRoles keeps
// this table true:
//
//	permission          owner  admin  member  auditor
//	records.read        yes    yes    yes     -
//	records.write       yes    yes    yes     -
//	files.read          yes    yes    yes     -
//	files.write         yes    yes    yes     -
//	collections.manage  yes    yes    -       -
//	members.read        yes    yes    yes     yes
//	members.manage      yes    yes    -       -
//	roles.manage        yes    yes    -       -
//	policy.manage       yes    yes    -       -
//	sessions.manage     yes    yes    -       -
//	audit.read          yes    yes    -       yes
//	secrets.use         yes    yes    -       -
//	secrets.manage      yes    yes    -       -
//	clients.manage      yes    yes    -       -
//	sso.manage          yes    yes    -       -
//	keys.manage         yes    -      -       -
//	org.delete          yes    -      -       -
//	kyc.verify          yes    yes    -       -
package authz
