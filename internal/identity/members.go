package identity

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// ListMembers lists the caller's organization's members (members.read).
func (s *Service) ListMembers(ctx context.Context, a Authenticated) ([]User, error) {
	p := a.Principal
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.MembersRead, authz.Resource{OrgID: p.OrgID}); err != nil {
		return nil, err
	}
	out := []User{}
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, email, status, totp_enabled, created_at, password_changed_at FROM users WHERE org_id = ? ORDER BY email`, p.OrgID)
		if err != nil {
			return dbErr("identity.ListMembers", err)
		}
		for rows.Next() {
			var u User
			var mfa, c, pc int64
			if err := rows.Scan(&u.ID, &u.Email, &u.Status, &mfa, &c, &pc); err != nil {
				rows.Close()
				return dbErr("identity.ListMembers", err)
			}
			u.OrgID, u.MFAEnabled = p.OrgID, mfa != 0
			u.CreatedAt, u.PasswordSet = time.UnixMicro(c).UTC(), time.UnixMicro(pc).UTC()
			out = append(out, u)
		}
		rows.Close()
		for i := range out {
			roles, err := s.loadRoles(ctx, tx, p.OrgID, out[i].ID)
			if err != nil {
				return err
			}
			out[i].Roles = roleNames(roles)
		}
		return rows.Err()
	})
	return out, err
}

// SetMemberRoles replaces a member's roles (members.manage). The caller
// must hold every permission of the roles it grants or takes away, and the
// organization always keeps an owner. Takes effect on the member's next
// request.
func (s *Service) SetMemberRoles(ctx context.Context, a Authenticated, m Meta, userID string, roles []string) error {
	const op = "identity.SetMemberRoles"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return err
	}
	roles = dedupe(roles)
	if len(roles) == 0 {
		return errs.E(errs.Invalid, op, "roles: at least one role is required")
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var exists int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE id = ? AND org_id = ?", userID, p.OrgID).Scan(&exists); err != nil {
			return dbErr(op, err)
		}
		if exists == 0 {
			return errs.E(errs.NotFound, op, "no such member")
		}
		if err := s.checkRoles(ctx, tx, p.OrgID, roles); err != nil {
			return err
		}
		before, err := s.loadRoles(ctx, tx, p.OrgID, userID)
		if err != nil {
			return err
		}
		after := make([]authz.Role, 0, len(roles))
		for _, r := range roles {
			role, err := s.resolveRole(ctx, tx, p.OrgID, r)
			if err != nil {
				return err
			}
			after = append(after, role)
		}
		// Granting or removing a role needs its permissions: an admin
		// cannot make an owner, nor demote one.
		for _, r := range append(append([]authz.Role{}, before...), after...) {
			if err := authz.CanGrant(pctx, r); err != nil {
				return err
			}
		}
		wasOwner, isOwner := hasRole(before, authz.RoleOwner), contains(roles, authz.RoleOwner)
		if wasOwner && !isOwner {
			var owners int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM user_roles WHERE org_id = ? AND role = ?", p.OrgID, authz.RoleOwner).Scan(&owners); err != nil {
				return dbErr(op, err)
			}
			if err := authz.MustKeepOwner(owners, true); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM user_roles WHERE org_id = ? AND user_id = ?", p.OrgID, userID); err != nil {
			return dbErr(op, err)
		}
		for _, r := range roles {
			if _, err := tx.Exec(ctx, "INSERT INTO user_roles (org_id, user_id, role) VALUES (?, ?, ?)", p.OrgID, userID, r); err != nil {
				return dbErr(op, err)
			}
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "member.roles.update", "user:"+userID, map[string]any{"before": roleNames(before), "after": roles}))
		return err
	})
}

func hasRole(rs []authz.Role, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
