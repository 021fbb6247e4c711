package secrets

import (
	"context"
	"encoding/json"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// interactive reports whether p is a person at a console (a signed-in
// session, a support operator) rather than a non-interactive credential
// (an API token, an OAuth client). Unknown kinds count as people: the
// check fails closed.
func interactive(p authz.Principal) bool {
	return p.Kind != authz.KindToken && p.Kind != authz.KindClient
}

// errWriteOnly is the answer to a person asking for a value.
func errWriteOnly(op string) error {
	return errs.E(errs.Forbidden, op, "secret values are write-only for people: a signed-in session sees metadata only. "+
		"Reveal needs an API token or OAuth client holding secrets.use (Authorization: Bearer); every reveal is audited")
}

// Reveal returns a secret's value to a non-interactive caller holding
// secrets.use: an API token or an OAuth client, never a signed-in session
// or an operator (errs.Forbidden saying so). The read is audited as
// secret.reveal with the purpose (never the value) and sets last_used_at.
// Errors: errs.Invalid for a missing or overlong purpose; errs.NotFound;
// errs.Shredded (410) for a revoked or expired secret; errs.Integrity if
// the stored ciphertext was altered or moved. Denied and refused reads of
// an existing secret are audited too.
func (s *Service) Reveal(ctx context.Context, p authz.Principal, id string, req RevealRequest) (Secret, Value, error) {
	const op = "secrets.Reveal"
	return s.read(ctx, p, op, "secret.reveal", id, req, false)
}

// Use returns a secret's value to a service inside the platform (the API
// gateway, which injects it into an upstream call so the value never
// leaves the platform). It needs secrets.use, whatever the kind of
// principal: the value is not shown to the caller. Audited as secret.use
// with the purpose; errors as Reveal.
func (s *Service) Use(ctx context.Context, p authz.Principal, id string, purpose string) (Value, error) {
	const op = "secrets.Use"
	_, v, err := s.read(ctx, p, op, "secret.use", id, RevealRequest{Purpose: purpose}, true)
	return v, err
}

func (s *Service) read(ctx context.Context, p authz.Principal, op, action, id string, req RevealRequest, people bool) (Secret, Value, error) {
	if err := can(ctx, p, authz.SecretsUse); err != nil {
		return Secret{}, Value{}, err
	}
	if !validID(id) {
		return Secret{}, Value{}, errNoSecret(op)
	}
	purpose, err := checkPurpose(op, req.Purpose)
	if err != nil {
		return Secret{}, Value{}, err
	}
	ev := event(p, action, id, nil)
	ev.IP, ev.UserAgent = req.IP, req.UserAgent
	var out Secret
	var val Value
	var found row
	err = s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		r, err := loadRow(ctx, tx, op, p.OrgID, id)
		if err != nil {
			return err
		}
		found = r
		if !people && interactive(p) {
			return errWriteOnly(op)
		}
		now := s.now()
		if err := r.gone(op, now); err != nil {
			return err
		}
		plain, err := s.keys.Decrypt(ctx, p.OrgID, r.ciphertext, valueAD(p.OrgID, r.id, r.version))
		if err != nil {
			return err
		}
		if !shapeMatches(r.typ, plain) {
			clear(plain)
			return errs.E(errs.Integrity, op, "stored secret value does not match its type")
		}
		if _, err := tx.Exec(ctx, "UPDATE secrets SET last_used_at = ? WHERE org_id = ? AND id = ?", micros(now), p.OrgID, id); err != nil {
			clear(plain)
			return dbErr(op, err)
		}
		ev.Details = auditDetails(r, r.version)
		ev.Details["purpose"] = purpose
		if _, err := s.audit.Append(ctx, tx, ev); err != nil {
			clear(plain)
			return err
		}
		lu := micros(now)
		r.lastUsedAt = &lu
		out, val = r.secret(now), Value{Type: r.typ, raw: plain}
		return nil
	})
	if err != nil {
		// A refused read of an existing secret of this organization is
		// a security event of its own; the transaction that would have
		// recorded a success was rolled back.
		if found.id != "" {
			switch errs.KindOf(err) {
			case errs.Forbidden, errs.Shredded, errs.Integrity:
				s.auditRefusal(ctx, ev, found, purpose, err)
			}
		}
		return Secret{}, Value{}, err
	}
	return out, val, nil
}

func (s *Service) auditRefusal(ctx context.Context, ev audit.Event, r row, purpose string, cause error) {
	ev.Outcome = audit.Failure
	if errs.KindOf(cause) == errs.Forbidden {
		ev.Outcome = audit.Denied
	}
	ev.Details = auditDetails(r, r.version)
	ev.Details["purpose"] = purpose
	ev.Details["reason"] = errs.KindOf(cause).String()
	if err := s.audit.Record(context.WithoutCancel(ctx), s.db, ev); err != nil {
		s.log.WarnContext(ctx, "cannot audit a refused secret read", "secret_id", r.id, "err", err)
	}
}

// shapeMatches reports whether a decrypted value has its type's JSON
// shape; anything else means the row's type was altered.
func shapeMatches(t Type, plain []byte) bool {
	if len(plain) == 0 {
		return false
	}
	switch t {
	case Password, APIKey:
		return plain[0] == '"' && json.Valid(plain)
	case OAuthToken:
		return plain[0] == '{' && json.Valid(plain)
	}
	return false
}
