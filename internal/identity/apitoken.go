package identity

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// APIToken describes a personal API token (never its value).
type APIToken struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// CreateAPIToken issues a token for the signed-in user, limited to perms
// (which it can never exceed: the user's roles still apply) and expiring
// after ttl. The token value is returned once.
func (s *Service) CreateAPIToken(ctx context.Context, a Authenticated, m Meta, name string, perms []string, ttl time.Duration) (APIToken, string, error) {
	const op = "identity.CreateAPIToken"
	p := a.Principal
	if a.SessionID == "" {
		return APIToken{}, "", errs.E(errs.Forbidden, op, "API tokens can only be created from a signed-in session")
	}
	name = strings.TrimSpace(name)
	var problems []string
	if name == "" || len(name) > 100 {
		problems = append(problems, "name: must be 1 to 100 characters")
	}
	parsed, err := authz.ParsePermissions(perms)
	if err != nil {
		problems = append(problems, "permissions: "+errs.SafeMessage(err))
	} else if len(parsed) == 0 {
		problems = append(problems, "permissions: at least one permission is required")
	}
	if ttl <= 0 || ttl > s.cfg.MaxTokenTTL {
		problems = append(problems, "expires_in_seconds: must be between 1 and "+itoa(int64(s.cfg.MaxTokenTTL/time.Second)))
	}
	if len(problems) > 0 {
		return APIToken{}, "", errs.E(errs.Invalid, op, strings.Join(problems, "; "))
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	t := APIToken{ID: uuid.NewString(), Name: name, Permissions: dedupe(perms), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	token, hash := newToken(prefixAPI)
	permJSON, _ := json.Marshal(t.Permissions)
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, token_hash, org_id, user_id, name, permissions, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, hash, p.OrgID, p.UserID, name, string(permJSON), now.UnixMicro(), t.ExpiresAt.UnixMicro()); err != nil {
			return dbErr(op, err)
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "token.create", "token:"+t.ID, map[string]any{"name": name, "permissions": t.Permissions, "expires_at": t.ExpiresAt}))
		return err
	})
	if err != nil {
		return APIToken{}, "", err
	}
	return t, token, nil
}

// AuthenticateToken resolves a bearer token to its principal.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Authenticated, error) {
	const op = "identity.AuthenticateToken"
	if !tokenShapeOK(token, prefixAPI) {
		return Authenticated{}, errNoSession()
	}
	hash := hashToken(token)
	now := s.now().UnixMicro()
	if a, ok := s.auth.get(string(hash), now); ok {
		return a, nil
	}
	gen := s.auth.gen.Load()
	var a Authenticated
	var perms, status string
	var expires, revoked int64
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT t.org_id, t.user_id, t.permissions, t.expires_at, t.revoked_at, u.email, u.status
			FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.org_id = t.org_id WHERE t.token_hash = ?`, hash).
			Scan(&a.Principal.OrgID, &a.Principal.UserID, &perms, &expires, &revoked, &a.Email, &status)
		if store.IsNoRows(err) {
			return errNoSession()
		}
		if err != nil {
			return dbErr(op, err)
		}
		a.Principal.Roles, err = s.loadRoles(ctx, tx, a.Principal.OrgID, a.Principal.UserID)
		return err
	})
	if err != nil {
		return Authenticated{}, err
	}
	if revoked != 0 || now >= expires || status != StatusActive {
		return Authenticated{}, errNoSession()
	}
	var names []string
	if err := json.Unmarshal([]byte(perms), &names); err != nil {
		return Authenticated{}, errs.E(op, err)
	}
	// Unknown names (a permission renamed since) are dropped: fail closed.
	tp := []authz.Permission{}
	for _, n := range names {
		if p, err := authz.ParsePermission(n); err == nil {
			tp = append(tp, p)
		}
	}
	a.Principal.Kind = authz.KindToken
	a.Principal.TokenPermissions = tp
	a.State = SessionActive
	s.auth.put(string(hash), a, gen, expires, now)
	return a, nil
}

// ListAPITokens lists the signed-in user's live tokens.
func (s *Service) ListAPITokens(ctx context.Context, a Authenticated) ([]APIToken, error) {
	p := a.Principal
	out := []APIToken{}
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name, permissions, created_at, expires_at FROM api_tokens
			WHERE org_id = ? AND user_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY created_at`, p.OrgID, p.UserID, s.micros())
		if err != nil {
			return dbErr("identity.ListAPITokens", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t APIToken
			var perms string
			var c, e int64
			if err := rows.Scan(&t.ID, &t.Name, &perms, &c, &e); err != nil {
				return dbErr("identity.ListAPITokens", err)
			}
			_ = json.Unmarshal([]byte(perms), &t.Permissions)
			t.CreatedAt, t.ExpiresAt = time.UnixMicro(c).UTC(), time.UnixMicro(e).UTC()
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeAPIToken revokes one of the signed-in user's tokens at once.
func (s *Service) RevokeAPIToken(ctx context.Context, a Authenticated, m Meta, id string) error {
	p := a.Principal
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND org_id = ? AND user_id = ? AND revoked_at = 0",
			s.micros(), id, p.OrgID, p.UserID)
		if err != nil {
			return dbErr("identity.RevokeAPIToken", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "identity.RevokeAPIToken", "no such token")
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "token.revoke", "token:"+id, nil))
		return err
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
