package identity

import (
	"context"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/store"
)

// ChangePassword replaces the signed-in user's password after checking the
// current one and the organization's policy. Every other session of the
// user ends: whoever knew the old password is signed out.
func (s *Service) ChangePassword(ctx context.Context, a Authenticated, m Meta, current, next string) error {
	const op = "identity.ChangePassword"
	p := a.Principal
	var hash string
	var st settings
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = ? AND org_id = ?", p.UserID, p.OrgID).Scan(&hash); err != nil {
			return dbErr(op, err)
		}
		var err error
		st, err = s.loadSettings(ctx, tx, p.OrgID)
		return err
	})
	if err != nil {
		return err
	}
	acct := "pwchange:" + p.OrgID + ":" + p.UserID
	if wait, err := s.lock.Locked(ctx, acct, lockout.AccountRule()); err == nil && wait > 0 {
		return errLocked(wait)
	}
	if ok, _, err := s.hasher.Verify(ctx, hash, current); err != nil || !ok {
		_, _, _ = s.lock.Fail(ctx, acct, lockout.AccountRule())
		return errs.E(errs.Unauthorized, op, "current password is wrong")
	}
	if err := st.Policy.Check(next, a.Email); err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND org_id = ?",
			newHash, s.micros(), p.UserID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		res, err := tx.Exec(ctx, "DELETE FROM sessions WHERE org_id = ? AND user_id = ? AND id <> ?", p.OrgID, p.UserID, a.SessionID)
		if err != nil {
			return dbErr(op, err)
		}
		n, _ := res.RowsAffected()
		_, err = s.audit.Append(ctx, tx, event(p, m, "password.change", "user:"+p.UserID, map[string]any{"other_sessions_revoked": n}))
		return err
	})
}
