package identity

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// User statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// NewUser is what CreateUser needs.
type NewUser struct {
	Email    string
	Password string
	Roles    []string
}

// CreateUser adds a member to the principal's organization after checking
// the password against the organization's policy. The caller must hold
// members.manage (operators creating the first owner act through
// CreateUserAsOperator).
func (s *Service) CreateUser(ctx context.Context, p authz.Principal, m Meta, nu NewUser) (User, error) {
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return User{}, err
	}
	return s.createUser(ctx, p, m, p.OrgID, nu)
}

// CreateUserAsOperator adds a member to orgID on behalf of a platform
// operator (CLI or operator API), e.g. an organization's first owner.
func (s *Service) CreateUserAsOperator(ctx context.Context, actor string, orgID string, nu NewUser) (User, error) {
	p := authz.Principal{Kind: authz.KindOperator, UserID: actor, OrgID: orgID}
	return s.createUser(ctx, p, Meta{}, orgID, nu)
}

func (s *Service) createUser(ctx context.Context, p authz.Principal, m Meta, orgID string, nu NewUser) (User, error) {
	const op = "identity.CreateUser"
	email, err := normalizeEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	if len(nu.Roles) == 0 {
		nu.Roles = []string{authz.RoleMember}
	}
	// Check the policy before hashing: a rejected password costs no argon2.
	var st settings
	if err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		st, err = s.loadSettings(ctx, tx, orgID)
		return err
	}); err != nil {
		return User{}, err
	}
	if err := st.Policy.Check(nu.Password, email); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := User{ID: uuid.NewString(), OrgID: orgID, Email: email, Status: StatusActive, Roles: dedupe(nu.Roles), CreatedAt: now, PasswordSet: now}
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var exists int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE id = ?", orgID).Scan(&exists); err != nil {
			return dbErr(op, err)
		}
		if exists == 0 {
			return errs.E(errs.NotFound, op, "organization not found")
		}
		if err := s.checkRoles(ctx, tx, orgID, u.Roles); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE org_id = ? AND email = ?", orgID, email).Scan(&exists); err != nil {
			return dbErr(op, err)
		}
		if exists > 0 {
			return errs.E(errs.Exists, op, "a member with this email already exists")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, org_id, email, password_hash, password_changed_at, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, orgID, email, hash, now.UnixMicro(), StatusActive, now.UnixMicro()); err != nil {
			return dbErr(op, err)
		}
		for _, r := range u.Roles {
			if _, err := tx.Exec(ctx, "INSERT INTO user_roles (org_id, user_id, role) VALUES (?, ?, ?)", orgID, u.ID, r); err != nil {
				return dbErr(op, err)
			}
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "member.create", "user:"+u.ID, map[string]any{"roles": u.Roles}))
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// checkRoles verifies every role name is built-in or a custom role of org.
func (s *Service) checkRoles(ctx context.Context, tx *store.Tx, org string, roles []string) error {
	var unknown []string
	for _, r := range roles {
		if authz.IsBuiltin(r) {
			continue
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM custom_roles WHERE org_id = ? AND name = ?", org, r).Scan(&n); err != nil {
			return dbErr("identity.checkRoles", err)
		}
		if n == 0 {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		return errs.E(errs.Invalid, "identity.checkRoles", "roles: unknown role(s): "+joinQuoted(unknown))
	}
	return nil
}

// loadRoles returns the user's roles, resolved to permissions. Loaded on
// every request, so a role change takes effect immediately.
func (s *Service) loadRoles(ctx context.Context, tx *store.Tx, org, userID string) ([]authz.Role, error) {
	rows, err := tx.Query(ctx, `SELECT ur.role, COALESCE(cr.permissions, ''), COALESCE(cr.collections, '')
		FROM user_roles ur LEFT JOIN custom_roles cr ON cr.org_id = ur.org_id AND cr.name = ur.role
		WHERE ur.org_id = ? AND ur.user_id = ? ORDER BY ur.role`, org, userID)
	if err != nil {
		return nil, dbErr("identity.loadRoles", err)
	}
	defer rows.Close()
	var out []authz.Role
	for rows.Next() {
		var name, perms, cols string
		if err := rows.Scan(&name, &perms, &cols); err != nil {
			return nil, dbErr("identity.loadRoles", err)
		}
		if r, ok := authz.BuiltinRole(name); ok {
			out = append(out, r)
			continue
		}
		if perms == "" {
			continue // custom role deleted: grants nothing
		}
		r := authz.Role{Name: name}
		if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
			return nil, errs.E("identity.loadRoles", err)
		}
		if err := json.Unmarshal([]byte(cols), &r.Collections); err != nil {
			return nil, errs.E("identity.loadRoles", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// resolveRole returns a built-in role or the organization's custom role.
func (s *Service) resolveRole(ctx context.Context, tx *store.Tx, org, name string) (authz.Role, error) {
	if r, ok := authz.BuiltinRole(name); ok {
		return r, nil
	}
	var perms, cols string
	err := tx.QueryRow(ctx, "SELECT permissions, collections FROM custom_roles WHERE org_id = ? AND name = ?", org, name).Scan(&perms, &cols)
	if store.IsNoRows(err) {
		return authz.Role{}, errs.E(errs.Invalid, "identity.resolveRole", "roles: unknown role \""+name+"\"")
	}
	if err != nil {
		return authz.Role{}, dbErr("identity.resolveRole", err)
	}
	r := authz.Role{Name: name}
	if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
		return authz.Role{}, errs.E("identity.resolveRole", err)
	}
	if err := json.Unmarshal([]byte(cols), &r.Collections); err != nil {
		return authz.Role{}, errs.E("identity.resolveRole", err)
	}
	return r, nil
}

func roleNames(rs []authz.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func joinQuoted(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += `"` + s + `"`
	}
	return out
}
