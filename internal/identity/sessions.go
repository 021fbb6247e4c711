package identity

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// ListSessions lists a user's sessions: the caller's own, or (with
// sessions.manage) another member's of the same organization.
func (s *Service) ListSessions(ctx context.Context, a Authenticated, userID string) ([]Session, error) {
	p := a.Principal
	if userID == "" {
		userID = p.UserID
	}
	if userID != p.UserID {
		if err := authz.Can(authz.WithPrincipal(ctx, p), authz.SessionsManage, authz.Resource{OrgID: p.OrgID}); err != nil {
			return nil, err
		}
	}
	out := []Session{}
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.requireMember(ctx, tx, p.OrgID, userID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, user_id, state, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions
			WHERE org_id = ? AND user_id = ? AND expires_at > ? ORDER BY created_at`, p.OrgID, userID, s.micros())
		if err != nil {
			return dbErr("identity.ListSessions", err)
		}
		defer rows.Close()
		for rows.Next() {
			var se Session
			var c, l, e int64
			if err := rows.Scan(&se.ID, &se.UserID, &se.State, &c, &l, &e, &se.IP, &se.UserAgent); err != nil {
				return dbErr("identity.ListSessions", err)
			}
			se.CreatedAt, se.LastSeenAt, se.ExpiresAt = time.UnixMicro(c).UTC(), time.UnixMicro(l).UTC(), time.UnixMicro(e).UTC()
			se.Current = se.ID == a.SessionID
			out = append(out, se)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeSession ends one session: the caller's own, or any member's with
// sessions.manage. Another organization's session is "not found".
func (s *Service) RevokeSession(ctx context.Context, a Authenticated, m Meta, sessionID string) error {
	const op = "identity.RevokeSession"
	p := a.Principal
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var owner string
		err := tx.QueryRow(ctx, "SELECT user_id FROM sessions WHERE id = ? AND org_id = ?", sessionID, p.OrgID).Scan(&owner)
		if store.IsNoRows(err) {
			return errs.E(errs.NotFound, op, "no such session")
		}
		if err != nil {
			return dbErr(op, err)
		}
		if owner != p.UserID {
			if err := authz.Can(authz.WithPrincipal(ctx, p), authz.SessionsManage, authz.Resource{OrgID: p.OrgID}); err != nil {
				return errs.E(errs.NotFound, op, "no such session")
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE id = ? AND org_id = ?", sessionID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "session.revoke", "session:"+sessionID, map[string]any{"user": owner}))
		return err
	})
}

// RevokeUserSessions ends every session of userID (the caller's own, or any
// member's with sessions.manage), except keepSessionID when non-empty.
func (s *Service) RevokeUserSessions(ctx context.Context, a Authenticated, m Meta, userID, keepSessionID string) (int64, error) {
	const op = "identity.RevokeUserSessions"
	p := a.Principal
	if userID != p.UserID {
		if err := authz.Can(authz.WithPrincipal(ctx, p), authz.SessionsManage, authz.Resource{OrgID: p.OrgID}); err != nil {
			return 0, err
		}
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.requireMember(ctx, tx, p.OrgID, userID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM sessions WHERE org_id = ? AND user_id = ? AND id <> ?", p.OrgID, userID, keepSessionID)
		if err != nil {
			return dbErr(op, err)
		}
		n, _ = res.RowsAffected()
		_, err = s.audit.Append(ctx, tx, event(p, m, "session.revoke_all", "user:"+userID, map[string]any{"count": n}))
		return err
	})
	return n, err
}

// requireMember answers "not found" for a user outside org, so ids of other
// tenants' members behave exactly like ids that do not exist.
func (s *Service) requireMember(ctx context.Context, tx *store.Tx, org, userID string) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE id = ? AND org_id = ?", userID, org).Scan(&n); err != nil {
		return dbErr("identity.requireMember", err)
	}
	if n == 0 {
		return errs.E(errs.NotFound, "identity", "no such member")
	}
	return nil
}
