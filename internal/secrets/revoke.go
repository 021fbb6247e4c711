package secrets

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// Revoke destroys a secret's value (secrets.manage): in one transaction the
// ciphertext is set to NULL, revoked_at is set and secret.revoke is
// audited. The metadata stays, with status "revoked"; the name is free
// again. After the commit a tombstone is published so a restore of an
// older backup destroys the value again; a failure to publish is logged
// and does not undo the revocation. Errors: errs.NotFound; errs.Shredded
// (410) for a secret already revoked; errs.Forbidden.
func (s *Service) Revoke(ctx context.Context, p authz.Principal, id string) (Secret, error) {
	const op = "secrets.Revoke"
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
		at := micros(now)
		res, err := tx.Exec(ctx, `UPDATE secrets SET ciphertext = NULL, revoked_at = ?, revoked_by = ?, updated_at = ?
			WHERE org_id = ? AND id = ? AND revoked_at IS NULL`, at, actorOf(p), at, p.OrgID, id)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n != 1 {
			return errs.E(errs.Conflict, op, "secret was changed concurrently; retry")
		}
		if _, err := s.audit.Append(ctx, tx, event(p, "secret.revoke", id, auditDetails(r, r.version))); err != nil {
			return err
		}
		r.ciphertext, r.revokedAt, r.updatedAt = nil, &at, at
		out = r.secret(now)
		return nil
	})
	if err != nil {
		return Secret{}, err
	}
	s.publish(ctx, tombstone.Tombstone{Kind: tombstone.Secret, Org: p.OrgID, ID: id, At: *out.RevokedAt})
	return out, nil
}

func (s *Service) publish(ctx context.Context, t tombstone.Tombstone) {
	// The revocation committed: a client that went away must not stop
	// the tombstone from leaving.
	if err := s.tombstones.Publish(context.WithoutCancel(ctx), t); err != nil {
		s.log.ErrorContext(ctx, "cannot publish the tombstone of a revoked secret; the next backup publishes it",
			"org", t.Org, "secret_id", t.ID, "err", err)
	}
}

// ApplyTombstone destroys, inside tx, the value of the secret t names, as a
// restore does for every tombstone published after the backup was taken:
// the ciphertext is set to NULL and the secret marked revoked at t.At
// (unless it already was). A secret the database does not have is not an
// error. Audited as secret.tombstone_applied by "system" when something
// was destroyed. errs.Invalid for a tombstone of another kind.
func (s *Service) ApplyTombstone(ctx context.Context, tx *store.Tx, t tombstone.Tombstone) error {
	const op = "secrets.ApplyTombstone"
	if t.Kind != tombstone.Secret || t.Org == "" || t.ID == "" {
		return errs.E(errs.Invalid, op, "not a secret tombstone (kind "+string(t.Kind)+")")
	}
	at := micros(t.At)
	res, err := tx.Exec(ctx, `UPDATE secrets SET ciphertext = NULL, revoked_at = COALESCE(revoked_at, ?), revoked_by = COALESCE(revoked_by, ?)
		WHERE org_id = ? AND id = ? AND ciphertext IS NOT NULL`, at, "system:tombstone", t.Org, t.ID)
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return nil
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Org: t.Org, Actor: "system", Action: "secret.tombstone_applied", Target: "secret:" + t.ID,
		Outcome: audit.Success, Details: map[string]any{"id": t.ID, "revoked": t.At.UTC().Format(time.RFC3339)}})
	return err
}

// Tombstones returns a tombstone for every revoked secret the database
// holds, oldest first, so a backup can publish them all (repairing any
// Publish that failed).
func (s *Service) Tombstones(ctx context.Context) ([]tombstone.Tombstone, error) {
	const op = "secrets.Tombstones"
	var out []tombstone.Tombstone
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, "SELECT org_id, id, revoked_at FROM secrets WHERE revoked_at IS NOT NULL ORDER BY revoked_at, org_id, id")
		if err != nil {
			return dbErr(op, err)
		}
		defer rs.Close()
		for rs.Next() {
			var t tombstone.Tombstone
			var at int64
			if err := rs.Scan(&t.Org, &t.ID, &at); err != nil {
				return dbErr(op, err)
			}
			t.Kind, t.At = tombstone.Secret, fromMicros(at)
			out = append(out, t)
		}
		if err := rs.Err(); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	return out, err
}

// PurgeOrg deletes every secret of org inside tx, for organization
// deletion (which crypto-shreds the keys and audits the deletion itself).
func (s *Service) PurgeOrg(ctx context.Context, tx *store.Tx, org string) error {
	if org == "" {
		return errs.E(errs.Invalid, "secrets.PurgeOrg", "no organization given")
	}
	if _, err := tx.Exec(ctx, "DELETE FROM secrets WHERE org_id = ?", org); err != nil {
		return dbErr("secrets.PurgeOrg", err)
	}
	return nil
}
