package identity

import (
	"context"
	"encoding/json"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// ListRoles returns the built-in roles and the organization's custom roles
// (members.read: anyone who can see members can see what roles mean).
func (s *Service) ListRoles(ctx context.Context, a Authenticated) ([]authz.Role, error) {
	p := a.Principal
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.MembersRead, authz.Resource{OrgID: p.OrgID}); err != nil {
		return nil, err
	}
	out := authz.BuiltinRoles()
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT name FROM custom_roles WHERE org_id = ? ORDER BY name", p.OrgID)
		if err != nil {
			return dbErr("identity.ListRoles", err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return dbErr("identity.ListRoles", err)
			}
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			r, err := s.resolveRole(ctx, tx, p.OrgID, n)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// PutRole creates or replaces a custom role (roles.manage). The caller must
// hold every permission it puts in the role (no privilege escalation), and
// when replacing, every permission the role had.
func (s *Service) PutRole(ctx context.Context, a Authenticated, m Meta, r authz.Role) (authz.Role, error) {
	const op = "identity.PutRole"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.RolesManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return authz.Role{}, err
	}
	r.Builtin = false
	if err := authz.ValidateRole(r); err != nil {
		return authz.Role{}, err
	}
	if err := authz.CanGrant(pctx, r); err != nil {
		return authz.Role{}, err
	}
	perms, _ := json.Marshal(r.Permissions)
	cols := r.Collections
	if cols == nil {
		cols = []string{}
	}
	colJSON, _ := json.Marshal(cols)
	err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		before, err := s.resolveRole(ctx, tx, p.OrgID, r.Name)
		existed := err == nil
		if existed {
			if err := authz.CanGrant(pctx, before); err != nil {
				return err
			}
		} else if errs.KindOf(err) != errs.Invalid {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO custom_roles (org_id, name, permissions, collections, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org_id, name) DO UPDATE SET permissions = excluded.permissions, collections = excluded.collections`,
			p.OrgID, r.Name, string(perms), string(colJSON), s.micros()); err != nil {
			return dbErr(op, err)
		}
		action := "role.create"
		if existed {
			action = "role.update"
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, action, "role:"+r.Name, map[string]any{"permissions": r.Permissions, "collections": cols}))
		return err
	})
	if err != nil {
		return authz.Role{}, err
	}
	r.Collections = cols
	return r, nil
}

// DeleteRole removes a custom role that no member holds (roles.manage).
func (s *Service) DeleteRole(ctx context.Context, a Authenticated, m Meta, name string) error {
	const op = "identity.DeleteRole"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.RolesManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return err
	}
	if authz.IsBuiltin(name) {
		return errs.E(errs.Invalid, op, "built-in roles cannot be deleted")
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		r, err := s.resolveRole(ctx, tx, p.OrgID, name)
		if errs.KindOf(err) == errs.Invalid {
			return errs.E(errs.NotFound, op, "no such role")
		}
		if err != nil {
			return err
		}
		if err := authz.CanGrant(pctx, r); err != nil {
			return err
		}
		var holders int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM user_roles WHERE org_id = ? AND role = ?", p.OrgID, name).Scan(&holders); err != nil {
			return dbErr(op, err)
		}
		if holders > 0 {
			return errs.E(errs.Conflict, op, "the role is still assigned to members; change their roles first")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM custom_roles WHERE org_id = ? AND name = ?", p.OrgID, name); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "role.delete", "role:"+name, nil))
		return err
	})
}

// RemoveMember deletes a member of the caller's organization
// (members.manage), ending their sessions and tokens. The caller must hold
// the member's roles' permissions, and the last owner cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, a Authenticated, m Meta, userID string) error {
	const op = "identity.RemoveMember"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.requireMember(ctx, tx, p.OrgID, userID); err != nil {
			return err
		}
		roles, err := s.loadRoles(ctx, tx, p.OrgID, userID)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if err := authz.CanGrant(pctx, r); err != nil {
				return err
			}
		}
		if hasRole(roles, authz.RoleOwner) {
			var owners int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM user_roles WHERE org_id = ? AND role = ?", p.OrgID, authz.RoleOwner).Scan(&owners); err != nil {
				return dbErr(op, err)
			}
			if err := authz.MustKeepOwner(owners, true); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"DELETE FROM sessions WHERE org_id = ? AND user_id = ?",
			"DELETE FROM api_tokens WHERE org_id = ? AND user_id = ?",
			"DELETE FROM user_roles WHERE org_id = ? AND user_id = ?",
			"DELETE FROM users WHERE org_id = ? AND id = ?",
		} {
			if _, err := tx.Exec(ctx, q, p.OrgID, userID); err != nil {
				return dbErr(op, err)
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "member.remove", "user:"+userID, map[string]any{"roles": roleNames(roles)}))
		return err
	})
}
