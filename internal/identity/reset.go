package identity

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/store"
)

// Rate limits of password reset requests. Every request counts, not only
// failed ones: the limit keeps anyone from flooding a mailbox with reset
// mails (per account) or from probing many accounts (per address). Unknown
// accounts are counted exactly like real ones, so the limit reveals
// nothing. The counters are separate from login's: asking for a reset
// never locks anyone out of signing in.
func resetAccountRule() lockout.Rule {
	return lockout.Rule{Free: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
}

func resetIPRule() lockout.Rule {
	return lockout.Rule{Free: 20, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
}

func resetAccountKey(org, email string) string { return "reset:" + accountKey(org, email) }
func resetIPKey(ip string) string              { return "reset:" + ipKey(ip) }

// RequestPasswordReset mails a single-use link, <public_url>/reset#token=
// rpr_..., valid for ResetTTL, to the active member with this email in the
// organization with this slug. It returns nil whether or not such a member
// exists, after the same work (a fresh token, one write transaction with
// the same statements and an audit entry; the token row is kept only when
// the member exists), and the mail is sent after the call returns: neither the answer nor its timing tells
// whether the account exists. A newer request replaces the member's
// earlier unused links.
// Errors: errs.RateLimited (with the wait, see RetryAfter) when the
// account or the address asked too often; errs.Unavailable.
func (s *Service) RequestPasswordReset(ctx context.Context, m Meta, org, email string) error {
	const op = "identity.RequestPasswordReset"
	slug := strings.ToLower(strings.TrimSpace(org))
	email = strings.ToLower(strings.TrimSpace(email))
	acct, ipk := resetAccountKey(slug, email), resetIPKey(m.IP)
	for _, k := range []struct {
		key  string
		rule lockout.Rule
	}{{acct, resetAccountRule()}, {ipk, resetIPRule()}} {
		wait, err := s.lock.Locked(ctx, k.key, k.rule)
		if err != nil {
			return errs.E(errs.Unavailable, op, "password reset unavailable", err)
		}
		if wait > 0 {
			return errs.E(errs.RateLimited, op, fmt.Sprintf("too many password reset requests; try again in %d seconds", int(math.Ceil(wait.Seconds()))))
		}
	}
	_, _, _ = s.lock.Fail(ctx, acct, resetAccountRule())
	_, _, _ = s.lock.Fail(ctx, ipk, resetIPRule())

	// Made for every request, used only when the account exists.
	token, hash := newToken(prefixReset)
	id := uuid.NewString()
	now := s.now().UTC().Truncate(time.Microsecond)
	expires := now.Add(ResetTTL)
	var userID, orgID, orgName, userEmail string
	found := false
	err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT u.id, u.org_id, u.email, o.name FROM users u JOIN organizations o ON o.id = u.org_id
			WHERE o.slug = ? AND u.email = ? AND u.status = ?`, slug, email, StatusActive).Scan(&userID, &orgID, &userEmail, &orgName)
		switch {
		case store.IsNoRows(err):
			userID, orgID = "", ""
		case err != nil:
			return dbErr(op, err)
		default:
			found = true
		}
		// The same three statements run either way, so that the database
		// does the same work: the earlier links of the account (none for
		// an unknown one) go, the new token row is written, and a row is
		// deleted again: for an unknown account the row just written,
		// for a real one nothing (a hash that matches no row).
		if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE org_id = ? AND user_id = ? AND purpose = ? AND used_at = 0",
			orgID, userID, purposeReset); err != nil {
			return dbErr(op, err)
		}
		if err := s.insertToken(ctx, tx, op, hash, id, purposeReset, oneTime{
			org: orgID, user: userID, email: userEmail, createdBy: "anonymous", created: now.UnixMicro(), expires: expires.UnixMicro(),
		}); err != nil {
			return err
		}
		drop := hashToken(token + "-unused")
		if !found {
			drop = hash
		}
		if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE token_hash = ?", drop); err != nil {
			return dbErr(op, err)
		}
		e := audit.Event{Org: audit.PlatformOrg, Actor: "anonymous", Action: "password.reset.request", Target: "account",
			Outcome: audit.Failure, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"reason": "no active account with this email in this organization"}}
		if found {
			e = audit.Event{Org: orgID, Actor: "anonymous", Action: "password.reset.request", Target: "user:" + userID,
				Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"expires_at": expires.Format(time.RFC3339)}}
		}
		_, err = s.audit.Append(ctx, tx, e)
		return err
	})
	if err != nil {
		return err
	}
	if found {
		from := ""
		if m.IP != "" {
			from = " The request came from the address " + m.IP + "."
		}
		s.sendLater(ctx, mail.Message{
			To:      userEmail,
			Subject: "Reset your Rampart password",
			Kind:    "password_reset",
			Text: fmt.Sprintf("Someone, hopefully you, asked to reset the password of %s in %s (organization %q).%s\n\n"+
				"Open the link below within %d minutes to choose a new password. It works once, and signs out every session of your account.\n"+
				"If you did not ask for this, ignore this mail: your password stays as it is.",
				userEmail, oneLine(orgName), slug, from, int(ResetTTL/time.Minute)),
			SecretURL: s.link("reset", token),
		})
	}
	return nil
}

// ConfirmPasswordReset redeems a reset token: it sets the new password
// (checked against the organization's policy), consumes the token, ends
// every session of the member (whoever used the old password is signed
// out) and clears the account's login lockout. It does not sign in: the
// member logs in next, with the second factor if enrolled. It returns how
// many sessions ended.
// Errors: errs.Invalid for an unknown, used or expired token (each with
// its own message) and for a password that breaks the policy (listing
// every broken rule); errs.Unavailable.
func (s *Service) ConfirmPasswordReset(ctx context.Context, m Meta, token, pw string) (int64, error) {
	const op = "identity.ConfirmPasswordReset"
	var t oneTime
	var st settings
	var slug string
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if t, err = s.findToken(ctx, tx, op, purposeReset, prefixReset, token); err != nil {
			return err
		}
		var status string
		err = tx.QueryRow(ctx, "SELECT u.status, o.slug FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = ? AND u.org_id = ?",
			t.user, t.org).Scan(&status, &slug)
		if store.IsNoRows(err) || err == nil && status != StatusActive {
			return errLink(op, purposeReset, "unknown") // the account is gone or disabled
		}
		if err != nil {
			return dbErr(op, err)
		}
		st, err = s.loadSettings(ctx, tx, t.org)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := st.Policy.Check(pw, t.email); err != nil {
		return 0, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return 0, err
	}
	var revoked int64
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.consumeToken(ctx, tx, op, purposeReset, token, ""); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND org_id = ? AND status = ?",
			hash, s.micros(), t.user, t.org, StatusActive)
		if err != nil {
			return dbErr(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLink(op, purposeReset, "unknown")
		}
		if res, err = tx.Exec(ctx, "DELETE FROM sessions WHERE org_id = ? AND user_id = ?", t.org, t.user); err != nil {
			return dbErr(op, err)
		}
		revoked, _ = res.RowsAffected()
		// Other links mailed earlier would still reset the new password.
		if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE org_id = ? AND user_id = ? AND purpose = ? AND used_at = 0",
			t.org, t.user, purposeReset); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Org: t.org, Actor: "user:" + t.user, Action: "password.reset", Target: "user:" + t.user,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"sessions_revoked": revoked}})
		return err
	})
	if err != nil {
		return 0, err
	}
	// Whoever was locked out by guessing the old password gets a fresh
	// start with the new one.
	_ = s.lock.Reset(ctx, accountKey(slug, t.email))
	_ = s.lock.Reset(ctx, resetAccountKey(slug, t.email))
	return revoked, nil
}
