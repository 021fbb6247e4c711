package identity

import (
	"context"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/totp"
)

// recoveryCodeCount is how many single-use recovery codes an enrolment gives.
const recoveryCodeCount = 10

// totpAD binds a stored TOTP secret to its user, column and organization.
func totpAD(userID string) []byte { return keys.AssociatedData("users", "totp_secret", userID) }

// recoveryAD binds an encrypted recovery-code hash to its user and slot.
func recoveryAD(userID string, idx int) []byte {
	return keys.AssociatedData("recovery_codes", "hash", userID, strconv.Itoa(idx))
}

// TOTPEnrollment is what a user scans into an authenticator app.
type TOTPEnrollment struct {
	URI      string `json:"otpauth_uri"`
	QRPNGB64 []byte `json:"qr_png_base64"` // encoding/json writes []byte as base64
}

// StartTOTP creates a new secret for the signed-in user (replacing an
// unconfirmed one), stored encrypted with the organization's keyset. 2FA is
// not on until ConfirmTOTP receives a valid code.
func (s *Service) StartTOTP(ctx context.Context, a Authenticated, m Meta) (TOTPEnrollment, error) {
	const op = "identity.StartTOTP"
	p := a.Principal
	var enabled int64
	if err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT totp_enabled FROM users WHERE id = ? AND org_id = ?", p.UserID, p.OrgID).Scan(&enabled)
	}); err != nil {
		return TOTPEnrollment{}, dbErr(op, err)
	}
	if enabled != 0 {
		return TOTPEnrollment{}, errs.E(errs.Conflict, op, "two-factor authentication is already enabled; disable it first to enrol a new device")
	}
	e, err := totp.Enroll(s.cfg.Issuer, a.Email)
	if err != nil {
		return TOTPEnrollment{}, errs.E(op, err)
	}
	ct, err := s.keys.Encrypt(ctx, p.OrgID, e.Secret, totpAD(p.UserID))
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE users SET totp_secret = ?, totp_enabled = 0, totp_last_step = 0 WHERE id = ? AND org_id = ?", ct, p.UserID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "mfa.enrol.start", "user:"+p.UserID, nil))
		return err
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{URI: e.URI, QRPNGB64: e.QRPNG}, nil
}

// ConfirmTOTP turns 2FA on once the user proves the app works, and returns
// the recovery codes (shown once, stored hashed). A session in the enrol
// state becomes fully signed in.
func (s *Service) ConfirmTOTP(ctx context.Context, a Authenticated, m Meta, code string) ([]string, error) {
	const op = "identity.ConfirmTOTP"
	p := a.Principal
	var secretCT []byte
	var enabled int64
	if err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT totp_secret, totp_enabled FROM users WHERE id = ? AND org_id = ?", p.UserID, p.OrgID).Scan(&secretCT, &enabled)
	}); err != nil {
		return nil, dbErr(op, err)
	}
	if enabled != 0 {
		return nil, errs.E(errs.Conflict, op, "two-factor authentication is already enabled")
	}
	if len(secretCT) == 0 {
		return nil, errs.E(errs.Conflict, op, "no enrolment in progress; start one first")
	}
	secret, err := s.keys.Decrypt(ctx, p.OrgID, secretCT, totpAD(p.UserID))
	if err != nil {
		return nil, err
	}
	step, err := s.otp.Check(secret, code, totp.NoStepUsed)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := totp.GenerateRecoveryCodes(recoveryCodeCount)
	if err != nil {
		return nil, errs.E(op, err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ? AND org_id = ? AND totp_enabled = 0", step, p.UserID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", p.UserID); err != nil {
			return dbErr(op, err)
		}
		for i, h := range hashes {
			// The code hashes are encrypted too: ~50-bit codes under a
			// plain hash could be brute-forced from a stolen database.
			sealed, err := s.keys.Encrypt(ctx, p.OrgID, h, recoveryAD(p.UserID, i))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO recovery_codes (user_id, idx, hash) VALUES (?, ?, ?)", p.UserID, i, sealed); err != nil {
				return dbErr(op, err)
			}
		}
		if a.SessionID != "" && a.State == SessionEnrol {
			if _, err := tx.Exec(ctx, "UPDATE sessions SET state = ? WHERE id = ? AND org_id = ?", SessionActive, a.SessionID, p.OrgID); err != nil {
				return dbErr(op, err)
			}
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "mfa.enable", "user:"+p.UserID, map[string]any{"method": "totp", "recovery_codes_issued": len(codes)}))
		return err
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// CompleteMFA accepts a TOTP or recovery code for a session waiting for its
// second factor. On success the session gets a new token (so a token seen
// before the second factor is worthless) and is fully signed in.
func (s *Service) CompleteMFA(ctx context.Context, m Meta, token, code string) (string, error) {
	const op = "identity.CompleteMFA"
	a, err := s.AuthenticateSession(ctx, token)
	if err != nil {
		return "", err
	}
	if a.State != SessionMFA {
		return "", errs.E(errs.Conflict, op, "this session is not waiting for a second factor")
	}
	p := a.Principal
	acct := "mfa:" + p.OrgID + ":" + p.UserID
	if wait, err := s.lock.Locked(ctx, acct, lockout.AccountRule()); err == nil && wait > 0 {
		return "", errLocked(wait)
	}
	var newToken string
	var usedRecovery bool
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var secretCT []byte
		var lastStep int64
		if err := tx.QueryRow(ctx, "SELECT totp_secret, totp_last_step FROM users WHERE id = ? AND org_id = ? AND totp_enabled = 1",
			p.UserID, p.OrgID).Scan(&secretCT, &lastStep); err != nil {
			return dbErr(op, err)
		}
		if totp.LooksLikeRecoveryCode(code) {
			idx, ok, err := s.useRecoveryCode(ctx, tx, p.OrgID, p.UserID, code)
			if err != nil {
				return err
			}
			if !ok {
				return errs.E(errs.Unauthorized, op, "invalid or already used code")
			}
			usedRecovery = true
			if _, err := s.audit.Append(ctx, tx, event(p, m, "mfa.recovery_code.used", "user:"+p.UserID, map[string]any{"index": idx})); err != nil {
				return err
			}
		} else {
			secret, err := s.keys.Decrypt(ctx, p.OrgID, secretCT, totpAD(p.UserID))
			if err != nil {
				return err
			}
			step, err := s.otp.Check(secret, code, lastStep)
			if err != nil {
				return err
			}
			// Storing the step makes the code single-use, across nodes
			// and restarts.
			if _, err := tx.Exec(ctx, "UPDATE users SET totp_last_step = ? WHERE id = ? AND org_id = ?", step, p.UserID, p.OrgID); err != nil {
				return dbErr(op, err)
			}
		}
		var hash []byte
		newToken, hash = newSessionToken()
		if _, err := tx.Exec(ctx, "UPDATE sessions SET token_hash = ?, state = ?, last_seen_at = ? WHERE id = ? AND org_id = ?",
			hash, SessionActive, s.micros(), a.SessionID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		_, err := s.audit.Append(ctx, tx, event(p, m, "auth.login", "user:"+p.UserID, map[string]any{"factor": "second", "recovery_code": usedRecovery}))
		return err
	})
	if err != nil {
		if k := errs.KindOf(err); k == errs.Unauthorized || k == errs.Invalid {
			lock, n, _ := s.lock.Fail(ctx, acct, lockout.AccountRule())
			_ = s.audit.Record(ctx, s.db, audit.Event{Org: p.OrgID, Actor: "user:" + p.UserID, Action: "auth.mfa", Target: "user:" + p.UserID,
				Outcome: audit.Failure, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"failures": n, "lockout_seconds": int(lock / time.Second)}})
		}
		return "", err
	}
	_ = s.lock.Reset(ctx, acct)
	return newToken, nil
}

func newSessionToken() (string, []byte) { return newToken(prefixSession) }

// useRecoveryCode marks a matching unused code as used.
func (s *Service) useRecoveryCode(ctx context.Context, tx *store.Tx, org, userID, code string) (int, bool, error) {
	rows, err := tx.Query(ctx, "SELECT idx, hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL ORDER BY idx", userID)
	if err != nil {
		return 0, false, dbErr("identity.useRecoveryCode", err)
	}
	var idxs []int
	var hashes [][]byte
	for rows.Next() {
		var i int
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			rows.Close()
			return 0, false, dbErr("identity.useRecoveryCode", err)
		}
		idxs, hashes = append(idxs, i), append(hashes, h)
	}
	rows.Close()
	for j := range hashes {
		h, err := s.keys.Decrypt(ctx, org, hashes[j], recoveryAD(userID, idxs[j]))
		if err != nil {
			return 0, false, err
		}
		hashes[j] = h
	}
	j, ok := totp.MatchRecoveryCode(code, hashes)
	if !ok {
		return 0, false, nil
	}
	res, err := tx.Exec(ctx, "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND idx = ? AND used_at IS NULL", s.micros(), userID, idxs[j])
	if err != nil {
		return 0, false, dbErr("identity.useRecoveryCode", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, false, nil
	}
	return idxs[j], true, nil
}

// DisableTOTP turns 2FA off for the signed-in user after checking a current
// code, and deletes the secret and recovery codes.
func (s *Service) DisableTOTP(ctx context.Context, a Authenticated, m Meta, code string) error {
	const op = "identity.DisableTOTP"
	p := a.Principal
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var secretCT []byte
		var lastStep, enabled int64
		if err := tx.QueryRow(ctx, "SELECT totp_secret, totp_last_step, totp_enabled FROM users WHERE id = ? AND org_id = ?", p.UserID, p.OrgID).
			Scan(&secretCT, &lastStep, &enabled); err != nil {
			return dbErr(op, err)
		}
		if enabled == 0 {
			return errs.E(errs.Conflict, op, "two-factor authentication is not enabled")
		}
		secret, err := s.keys.Decrypt(ctx, p.OrgID, secretCT, totpAD(p.UserID))
		if err != nil {
			return err
		}
		if _, err := s.otp.Check(secret, code, lastStep); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = 0 WHERE id = ? AND org_id = ?", p.UserID, p.OrgID); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", p.UserID); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "mfa.disable", "user:"+p.UserID, map[string]any{"method": "totp"}))
		return err
	})
}
