package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// row is a stored secret before decryption.
type row struct {
	id         string
	name       string
	typ        Type
	ciphertext []byte // nil once revoked
	metadata   string
	version    int64
	createdAt  int64
	createdBy  string
	updatedAt  int64
	expiresAt  *int64
	revokedAt  *int64
	lastUsedAt *int64
}

const rowColumns = "id, name, type, ciphertext, metadata, version, created_at, created_by, updated_at, expires_at, revoked_at, last_used_at"

func (r *row) scanArgs() []any {
	return []any{&r.id, &r.name, &r.typ, &r.ciphertext, &r.metadata, &r.version, &r.createdAt, &r.createdBy,
		&r.updatedAt, &r.expiresAt, &r.revokedAt, &r.lastUsedAt}
}

func loadRow(ctx context.Context, tx *store.Tx, op, org, id string) (row, error) {
	var r row
	err := tx.QueryRow(ctx, "SELECT "+rowColumns+" FROM secrets WHERE org_id = ? AND id = ?", org, id).Scan(r.scanArgs()...)
	switch {
	case store.IsNoRows(err):
		return row{}, errNoSecret(op)
	case err != nil:
		return row{}, dbErr(op, err)
	}
	return r, nil
}

func (r row) expired(now time.Time) bool { return r.expiresAt != nil && micros(now) >= *r.expiresAt }

func (r row) status(now time.Time) string {
	switch {
	case r.revokedAt != nil:
		return StatusRevoked
	case r.expired(now):
		return StatusExpired
	}
	return StatusActive
}

// secret is the row's metadata; it never carries the value.
func (r row) secret(now time.Time) Secret {
	return Secret{ID: r.id, Name: r.name, Type: r.typ, Status: r.status(now), Version: r.version,
		Metadata: json.RawMessage(r.metadata), CreatedAt: fromMicros(r.createdAt), CreatedBy: r.createdBy,
		UpdatedAt: fromMicros(r.updatedAt), ExpiresAt: optTime(r.expiresAt), RevokedAt: optTime(r.revokedAt),
		LastUsedAt: optTime(r.lastUsedAt)}
}

// gone is the answer for a secret whose value can no longer be read or
// changed: revoked (destroyed) or expired.
func (r row) gone(op string, now time.Time) error {
	if r.revokedAt != nil {
		return errs.E(errs.Shredded, op, "secret "+r.id+" was revoked at "+fromMicros(*r.revokedAt).Format(time.RFC3339)+
			"; its value was destroyed and can never be read or replaced: create a new secret")
	}
	if r.expired(now) {
		return errs.E(errs.Shredded, op, "secret "+r.id+" expired at "+fromMicros(*r.expiresAt).Format(time.RFC3339)+
			"; its value can no longer be read: give it a new value with a new expires_at, or revoke it")
	}
	return nil
}

func auditDetails(r row, version int64) map[string]any {
	return map[string]any{"id": r.id, "name": r.name, "type": string(r.typ), "version": version}
}

// joinInvalid merges input errors into one errs.Invalid listing every
// problem, or returns nil.
func joinInvalid(op string, list ...error) error {
	var msgs []string
	for _, err := range list {
		if err != nil {
			msgs = append(msgs, errs.SafeMessage(err))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, op, strings.Join(msgs, "; "))
}

// Create stores a new secret at version 1 (secrets.manage) and returns its
// metadata, never its value. Errors: errs.Invalid naming every problem
// with name, type, value, metadata or expires_at (never quoting the
// value); errs.Exists when a secret that is not revoked has the name;
// errs.Forbidden, errs.Unauthorized.
func (s *Service) Create(ctx context.Context, p authz.Principal, spec Spec) (Secret, error) {
	const op = "secrets.Create"
	if err := can(ctx, p, authz.SecretsManage); err != nil {
		return Secret{}, err
	}
	now := s.now()
	nameErr, typeErr := checkName(op, spec.Name), checkType(op, spec.Type)
	var plain []byte
	var valueErr error
	if typeErr == nil {
		plain, valueErr = parseValue(op, spec.Type, spec.Value)
	}
	defer clear(plain)
	meta, metaErr := parseMetadata(op, spec.Metadata)
	var expErr error
	if spec.ExpiresAt != nil && !spec.ExpiresAt.After(now) {
		expErr = invalid(op, "expires_at: must be in the future")
	}
	if err := joinInvalid(op, nameErr, typeErr, valueErr, metaErr, expErr); err != nil {
		return Secret{}, err
	}
	r := row{id: uuid.NewString(), name: spec.Name, typ: spec.Type, metadata: string(meta), version: 1,
		createdAt: micros(now), createdBy: actorOf(p), updatedAt: micros(now), expiresAt: optMicros(spec.ExpiresAt)}
	// Encrypt before the write transaction: the single SQLite writer
	// should not wait on cryptography.
	ct, err := s.keys.Encrypt(ctx, p.OrgID, plain, valueAD(p.OrgID, r.id, 1))
	if err != nil {
		return Secret{}, err
	}
	r.ciphertext = ct
	err = s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO secrets (org_id, id, name, type, ciphertext, metadata, version, created_at, created_by, updated_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT (org_id, name) WHERE revoked_at IS NULL DO NOTHING`,
			p.OrgID, r.id, r.name, string(r.typ), r.ciphertext, r.metadata, r.createdAt, r.createdBy, r.updatedAt, r.expiresAt)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n == 0 {
			return errs.E(errs.Exists, op, fmt.Sprintf("a secret named %q already exists; revoke it first or choose another name", r.name))
		}
		d := auditDetails(r, 1)
		d["metadata_fields"] = metadataFields(meta)
		if r.expiresAt != nil {
			d["expires"] = fromMicros(*r.expiresAt).Format(time.RFC3339)
		}
		_, err = s.audit.Append(ctx, tx, event(p, "secret.create", r.id, d))
		return err
	})
	if err != nil {
		return Secret{}, err
	}
	return r.secret(now), nil
}

// metadataFields lists the field names of canonical metadata, for audit
// entries (names, never values).
func metadataFields(meta []byte) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(meta, &m)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Get returns a secret's metadata (secrets.manage), revoked and expired
// ones included. Errors: errs.NotFound "no such secret" for a secret that
// does not exist in the principal's organization; errs.Forbidden.
func (s *Service) Get(ctx context.Context, p authz.Principal, id string) (Secret, error) {
	const op = "secrets.Get"
	if err := can(ctx, p, authz.SecretsManage); err != nil {
		return Secret{}, err
	}
	if !validID(id) {
		return Secret{}, errNoSecret(op)
	}
	var r row
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		r, err = loadRow(ctx, tx, op, p.OrgID, id)
		return err
	})
	if err != nil {
		return Secret{}, err
	}
	return r.secret(s.now()), nil
}

// UpdateMetadata replaces a secret's metadata (secrets.manage); the value
// and version do not change. Errors: errs.Invalid naming every problem
// with the metadata, errs.NotFound, errs.Shredded (410) for a revoked
// secret, whose record stays as it was revoked, errs.Forbidden.
func (s *Service) UpdateMetadata(ctx context.Context, p authz.Principal, id string, metadata json.RawMessage) (Secret, error) {
	const op = "secrets.UpdateMetadata"
	if err := can(ctx, p, authz.SecretsManage); err != nil {
		return Secret{}, err
	}
	if !validID(id) {
		return Secret{}, errNoSecret(op)
	}
	var out Secret
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		r, err := loadRow(ctx, tx, op, p.OrgID, id)
		if err != nil {
			return err
		}
		now := s.now()
		if r.revokedAt != nil {
			return r.gone(op, now)
		}
		meta, err := parseMetadata(op, metadata)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE secrets SET metadata = ?, updated_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL",
			string(meta), micros(now), p.OrgID, id)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n != 1 {
			return errs.E(errs.Conflict, op, "secret was changed concurrently; retry")
		}
		d := auditDetails(r, r.version)
		d["metadata_fields"] = metadataFields(meta)
		if _, err := s.audit.Append(ctx, tx, event(p, "secret.update", id, d)); err != nil {
			return err
		}
		r.metadata, r.updatedAt = string(meta), micros(now)
		r.ciphertext = nil
		out = r.secret(now)
		return nil
	})
	if err != nil {
		return Secret{}, err
	}
	return out, nil
}

// Rotate gives a secret a new value (secrets.manage): the version grows by
// one and the old ciphertext is overwritten. expiresAt, when not nil,
// replaces the expiry (it must be in the future); an expired secret can
// only be rotated together with a new expiry. Errors: errs.NotFound,
// errs.Shredded (410) for a revoked secret or an expired one without a new
// expiry, errs.Invalid for a value that does not fit the secret's type,
// errs.Conflict when another change won a race, errs.Forbidden.
func (s *Service) Rotate(ctx context.Context, p authz.Principal, id string, value json.RawMessage, expiresAt *time.Time) (Secret, error) {
	const op = "secrets.Rotate"
	if err := can(ctx, p, authz.SecretsManage); err != nil {
		return Secret{}, err
	}
	if !validID(id) {
		return Secret{}, errNoSecret(op)
	}
	return s.replaceValue(ctx, p, op, "secret.rotate", id, func(now time.Time, r row) ([]byte, *int64, error) {
		if r.revokedAt != nil || (r.expired(now) && expiresAt == nil) {
			return nil, nil, r.gone(op, now)
		}
		plain, valueErr := parseValue(op, r.typ, value)
		var expErr error
		if expiresAt != nil && !expiresAt.After(now) {
			expErr = invalid(op, "expires_at: must be in the future")
		}
		if err := joinInvalid(op, valueErr, expErr); err != nil {
			return nil, nil, err
		}
		if expiresAt != nil {
			return plain, optMicros(expiresAt), nil
		}
		return plain, r.expiresAt, nil
	})
}

// UpdateValue stores a refreshed OAuth token in an oauth_token secret
// (secrets.use: the service that refreshed the token holds it), as a new
// version. token is the token response or an oauth2.Token as JSON; when it
// has no refresh_token the stored one is kept (RFC 6749 section 6 lets a
// server keep the old refresh token). Audited as secret.refresh. Errors:
// errs.Invalid for another type of secret or a malformed token,
// errs.Shredded for a revoked or expired secret, errs.NotFound,
// errs.Conflict, errs.Forbidden.
func (s *Service) UpdateValue(ctx context.Context, p authz.Principal, id string, token json.RawMessage) (Secret, error) {
	const op = "secrets.UpdateValue"
	if err := can(ctx, p, authz.SecretsUse); err != nil {
		return Secret{}, err
	}
	if !validID(id) {
		return Secret{}, errNoSecret(op)
	}
	return s.replaceValue(ctx, p, op, "secret.refresh", id, func(now time.Time, r row) ([]byte, *int64, error) {
		if err := r.gone(op, now); err != nil {
			return nil, nil, err
		}
		if r.typ != OAuthToken {
			return nil, nil, invalid(op, fmt.Sprintf("secret %s is a %s, not an oauth_token: only OAuth tokens take a refreshed value here; "+
				"rotate other secrets with PUT /api/v1/secrets/{id}/value (secrets.manage)", r.id, r.typ))
		}
		plain, err := parseValue(op, OAuthToken, token)
		if err != nil {
			return nil, nil, err
		}
		var fresh map[string]any
		if err := json.Unmarshal(plain, &fresh); err != nil {
			return nil, nil, errs.E(op, err)
		}
		if _, has := fresh["refresh_token"]; !has {
			old, err := s.keys.Decrypt(ctx, p.OrgID, r.ciphertext, valueAD(p.OrgID, r.id, r.version))
			if err != nil {
				return nil, nil, err
			}
			var prev map[string]any
			if json.Unmarshal(old, &prev) == nil && prev["refresh_token"] != nil {
				fresh["refresh_token"] = prev["refresh_token"]
			}
			clear(old)
			clear(plain)
			if plain, err = json.Marshal(fresh); err != nil {
				return nil, nil, errs.E(op, err)
			}
		}
		return plain, r.expiresAt, nil
	})
}

// replaceValue is Rotate and UpdateValue: next checks the stored row and
// returns the new plaintext and expiry inside the write transaction.
func (s *Service) replaceValue(ctx context.Context, p authz.Principal, op, action, id string,
	next func(now time.Time, r row) (plain []byte, expiresAt *int64, err error)) (Secret, error) {
	var out Secret
	err := s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		r, err := loadRow(ctx, tx, op, p.OrgID, id)
		if err != nil {
			return err
		}
		now := s.now()
		plain, expiresAt, err := next(now, r)
		if err != nil {
			return err
		}
		version := r.version + 1
		ct, err := s.keys.Encrypt(ctx, p.OrgID, plain, valueAD(p.OrgID, id, version))
		clear(plain)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE secrets SET ciphertext = ?, version = ?, updated_at = ?, expires_at = ?
			WHERE org_id = ? AND id = ? AND version = ? AND revoked_at IS NULL`,
			ct, version, micros(now), expiresAt, p.OrgID, id, r.version)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n != 1 {
			return errs.E(errs.Conflict, op, "secret was changed concurrently; retry")
		}
		d := auditDetails(r, version)
		if expiresAt != nil && (r.expiresAt == nil || *expiresAt != *r.expiresAt) {
			d["expires"] = fromMicros(*expiresAt).Format(time.RFC3339)
		}
		if _, err := s.audit.Append(ctx, tx, event(p, action, id, d)); err != nil {
			return err
		}
		r.ciphertext, r.version, r.updatedAt, r.expiresAt = ct, version, micros(now), expiresAt
		out = r.secret(now)
		return nil
	})
	if err != nil {
		return Secret{}, err
	}
	return out, nil
}
