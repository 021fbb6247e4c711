package identity

import (
	"context"
	"encoding/json"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
)

// PasswordSettings is an organization's password and 2FA policy.
type PasswordSettings struct {
	password.Policy
	RequireMFA bool `json:"require_mfa"`
}

// GetPasswordSettings returns the caller's organization's policy (any member
// may read it: sign-up forms show the rules).
func (s *Service) GetPasswordSettings(ctx context.Context, a Authenticated) (PasswordSettings, error) {
	var st settings
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		st, err = s.loadSettings(ctx, tx, a.Principal.OrgID)
		return err
	})
	return PasswordSettings{Policy: st.Policy, RequireMFA: st.RequireMFA}, err
}

// SetPasswordSettings replaces the policy; policy.manage is required.
func (s *Service) SetPasswordSettings(ctx context.Context, a Authenticated, m Meta, ps PasswordSettings) error {
	p := a.Principal
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.PolicyManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return err
	}
	if err := ps.Policy.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(ps.Policy)
	if err != nil {
		return err
	}
	req := int64(0)
	if ps.RequireMFA {
		req = 1
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO org_settings (org_id, password_policy, require_mfa, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET password_policy = excluded.password_policy, require_mfa = excluded.require_mfa, updated_at = excluded.updated_at`,
			p.OrgID, string(raw), req, s.micros()); err != nil {
			return dbErr("identity.SetPasswordSettings", err)
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "policy.password.update", "org:"+p.OrgID, map[string]any{"policy": string(raw), "require_mfa": ps.RequireMFA}))
		return err
	})
}

// Me describes the signed-in principal.
type Me struct {
	ID           string   `json:"id"`
	Email        string   `json:"email"`
	Organization string   `json:"organization"`
	Roles        []string `json:"roles"`
	Permissions  []string `json:"permissions"`
	MFAEnabled   bool     `json:"mfa_enabled"`
}

// WhoAmI returns the caller's identity and effective permissions.
func (s *Service) WhoAmI(ctx context.Context, a Authenticated) (Me, error) {
	p := a.Principal
	me := Me{ID: p.UserID, Email: a.Email, Roles: roleNames(p.Roles), Permissions: []string{}}
	for _, perm := range authz.Effective(p) {
		me.Permissions = append(me.Permissions, string(perm))
	}
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var mfa int64
		if err := tx.QueryRow(ctx, `SELECT o.slug, u.totp_enabled FROM users u JOIN organizations o ON o.id = u.org_id
			WHERE u.id = ? AND u.org_id = ?`, p.UserID, p.OrgID).Scan(&me.Organization, &mfa); err != nil {
			return dbErr("identity.WhoAmI", err)
		}
		me.MFAEnabled = mfa != 0
		return nil
	})
	return me, err
}
