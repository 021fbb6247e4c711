package identity

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/store"
)

// One-time tokens (table one_time_tokens) carry invitations, password
// resets and the bootstrap link. Only the SHA-256 of a token is stored; the
// token itself exists in the mail or on the operator's terminal, in the
// fragment of a link (#token=...), which browsers never send to a server,
// so it stays out of access logs and Referer headers.

// The purposes of one-time tokens.
const (
	purposeInvite    = "invite"
	purposeReset     = "password_reset"
	purposeBootstrap = "bootstrap"
)

// How long each kind of link stays usable.
const (
	InviteTTL    = 7 * 24 * time.Hour // an invitation
	ResetTTL     = 30 * time.Minute   // a password reset link
	BootstrapTTL = time.Hour          // the first operator's bootstrap link
)

// oneTime is a stored one-time token, without the token.
type oneTime struct {
	id, org, user, email, role, createdBy string
	created, expires, used                int64
}

// kindOfLink names what a purpose's link is, for messages.
var kindOfLink = map[string]string{
	purposeInvite:    "invitation",
	purposeReset:     "password reset link",
	purposeBootstrap: "bootstrap link",
}

// remedy says what to do about a used or expired link of each purpose.
var remedy = map[string]string{
	purposeInvite:    "ask an administrator of the organization for a new invitation",
	purposeReset:     "request a new password reset",
	purposeBootstrap: "run `rampart admin bootstrap` for a new link",
}

// errLink is the answer to a token that cannot be used. The three reasons
// get distinct messages: a random 256-bit token cannot be guessed, so
// telling "used" from "unknown" helps the rightful holder, not an attacker.
func errLink(op, purpose, reason string) error {
	what := kindOfLink[purpose]
	switch reason {
	case "used":
		return errs.E(errs.Invalid, op, "this "+what+" has already been used; "+remedy[purpose])
	case "expired":
		return errs.E(errs.Invalid, op, "this "+what+" has expired; "+remedy[purpose])
	}
	return errs.E(errs.Invalid, op, "this "+what+" is not valid: it was mistyped, revoked or replaced by a newer one; "+remedy[purpose])
}

// findToken loads the token's row and checks that it can still be used.
// Errors: errLink (errs.Invalid) for a malformed, unknown, used or expired
// token; errs.Unavailable.
func (s *Service) findToken(ctx context.Context, tx *store.Tx, op, purpose, prefix, token string) (oneTime, error) {
	if !tokenShapeOK(token, prefix) {
		return oneTime{}, errLink(op, purpose, "unknown")
	}
	var t oneTime
	err := tx.QueryRow(ctx, `SELECT id, org_id, user_id, email, role, created_by, created_at, expires_at, used_at
		FROM one_time_tokens WHERE token_hash = ? AND purpose = ?`, hashToken(token), purpose).
		Scan(&t.id, &t.org, &t.user, &t.email, &t.role, &t.createdBy, &t.created, &t.expires, &t.used)
	switch {
	case store.IsNoRows(err):
		return oneTime{}, errLink(op, purpose, "unknown")
	case err != nil:
		return oneTime{}, dbErr(op, err)
	case t.used != 0:
		return oneTime{}, errLink(op, purpose, "used")
	case s.micros() >= t.expires:
		return oneTime{}, errLink(op, purpose, "expired")
	}
	return t, nil
}

// consumeToken marks the token used, in the transaction that acts on it.
// The conditions are in the UPDATE itself, so of two concurrent uses only
// one changes a row (SQLite has one writer; PostgreSQL re-checks the row
// after the first transaction's lock is released) and the other fails.
// userID, when not empty, records the account the token created.
func (s *Service) consumeToken(ctx context.Context, tx *store.Tx, op, purpose, token, userID string) error {
	now := s.micros()
	q, args := `UPDATE one_time_tokens SET used_at = ?`, []any{now}
	if userID != "" {
		q, args = q+`, user_id = ?`, append(args, userID)
	}
	res, err := tx.Exec(ctx, q+` WHERE token_hash = ? AND purpose = ? AND used_at = 0 AND expires_at > ?`,
		append(args, hashToken(token), purpose, now)...)
	if err != nil {
		return dbErr(op, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLink(op, purpose, "used")
	}
	return nil
}

// insertToken stores a new one-time token.
func (s *Service) insertToken(ctx context.Context, tx *store.Tx, op string, hash []byte, id, purpose string, t oneTime) error {
	if _, err := tx.Exec(ctx, `INSERT INTO one_time_tokens (token_hash, purpose, org_id, user_id, email, role, created_by, created_at, expires_at, id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, hash, purpose, t.org, t.user, t.email, t.role, t.createdBy, t.created, t.expires, id); err != nil {
		return dbErr(op, err)
	}
	return nil
}

// link builds a public URL carrying token in its fragment.
func (s *Service) link(page, token string) string {
	return s.cfg.PublicURL + "/" + page + "#token=" + token
}

// insertMember stores a new member and its roles; the caller has checked
// the email, roles and password and holds the write transaction.
func insertMember(ctx context.Context, tx *store.Tx, op string, u User, hash string) error {
	var exists int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE org_id = ? AND email = ?", u.OrgID, u.Email).Scan(&exists); err != nil {
		return dbErr(op, err)
	}
	if exists > 0 {
		return errs.E(errs.Exists, op, "a member with this email already exists")
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, org_id, email, password_hash, password_changed_at, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.OrgID, u.Email, hash, u.PasswordSet.UnixMicro(), StatusActive, u.CreatedAt.UnixMicro()); err != nil {
		return dbErr(op, err)
	}
	for _, r := range u.Roles {
		if _, err := tx.Exec(ctx, "INSERT INTO user_roles (org_id, user_id, role) VALUES (?, ?, ?)", u.OrgID, u.ID, r); err != nil {
			return dbErr(op, err)
		}
	}
	return nil
}

// maxMailInFlight bounds the mails being handed to the mail server after
// their request was answered; more wait their turn.
const maxMailInFlight = 8

// mailTimeout bounds one mail sent after its request was answered, queueing
// included.
const mailTimeout = 2 * time.Minute

// sendLater hands m to the mailer without making the caller wait, so the
// request that caused it answers in the same time whether a mail goes out
// or not. A failure is logged (the mailers never log the link).
func (s *Service) sendLater(ctx context.Context, m mail.Message) {
	// The request's values (its id, for the log) stay; its cancellation
	// does not: the answer is sent before the mail is.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		defer cancel()
		select {
		case s.mailSlots <- struct{}{}:
		case <-ctx.Done():
			s.log.ErrorContext(ctx, "mail not sent: timed out waiting for the mail server", "kind", m.Kind)
			return
		}
		defer func() { <-s.mailSlots }()
		if err := s.mailer.Send(ctx, m); err != nil {
			s.log.ErrorContext(ctx, "mail not sent", "kind", m.Kind, "err", err)
		}
	}()
}

// WaitForMail blocks until every mail queued by earlier requests has been
// delivered or has failed (each is bounded by a timeout). Call it before
// shutting down, and in tests before looking for a mail.
func (s *Service) WaitForMail() { s.mailWG.Wait() }
