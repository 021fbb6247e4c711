package app

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// Deleting an organization (B3) takes two people: an owner (org.delete)
// asks for it, naming the organization's slug, and a platform operator
// confirms, naming it again. Confirming destroys the organization's
// keysets (crypto-shredding: every copy of its ciphertext, in backups
// too, becomes unreadable), deletes every row it has, writes a tombstone
// that a restore applies before serving, and records the deletion in the
// platform's audit chain. The organization's own audit chain goes with
// it: it names its members and their addresses.

// DeletionRequest is an owner's pending request to delete the organization.
type DeletionRequest struct {
	OrgID       string    `json:"org_id"`
	Slug        string    `json:"slug"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Status      string    `json:"status"` // "pending_operator_confirmation"
}

// Deletion is what confirming a deletion did.
type Deletion struct {
	OrgID     string           `json:"org_id"`
	Slug      string           `json:"slug"`
	DeletedAt time.Time        `json:"deleted_at"`
	Rows      map[string]int64 `json:"rows_deleted"` // per table
}

const pendingConfirmation = "pending_operator_confirmation"

// RequestOrgDeletion records an owner's request to delete p's
// organization; confirm must repeat its slug.
// Errors: Forbidden without org.delete, Invalid for a wrong confirmation
// or the platform organization, Exists when a request is pending.
func (d *Data) RequestOrgDeletion(ctx context.Context, p authz.Principal, confirm string) (DeletionRequest, error) {
	const op = "app.RequestOrgDeletion"
	if err := canDeleteOrg(ctx, p); err != nil {
		return DeletionRequest{}, err
	}
	org, err := d.FindOrganization(ctx, p.OrgID)
	if err != nil {
		return DeletionRequest{}, err
	}
	if org.ID == identity.PlatformOrgID {
		return DeletionRequest{}, errs.E(errs.Invalid, op, "the platform organization cannot be deleted")
	}
	if confirm != org.Slug {
		return DeletionRequest{}, errs.E(errs.Invalid, op, "confirm: type the organization's slug exactly to confirm the deletion request")
	}
	req := DeletionRequest{OrgID: org.ID, Slug: org.Slug, RequestedBy: actorOf(p), RequestedAt: d.Now().UTC().Truncate(time.Microsecond), Status: pendingConfirmation}
	err = d.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM org_deletion_requests WHERE org_id = ?", org.ID).Scan(&n); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if n > 0 {
			return errs.E(errs.Exists, op, "a deletion request for this organization is already waiting for an operator")
		}
		if _, err := tx.Exec(ctx, "INSERT INTO org_deletion_requests (org_id, requested_by, requested_at) VALUES (?, ?, ?)",
			org.ID, req.RequestedBy, req.RequestedAt.UnixMicro()); err != nil {
			return errs.E(errs.Unavailable, op, "cannot store the deletion request", err)
		}
		_, err := d.Audit.Append(ctx, tx, audit.Event{Org: org.ID, Actor: req.RequestedBy, Action: "org.delete_request",
			Target: "org:" + org.ID, Outcome: audit.Success})
		return err
	})
	if err != nil {
		return DeletionRequest{}, err
	}
	return req, nil
}

// OrgDeletionRequest returns p's organization's pending request.
// Errors: Forbidden without org.delete, NotFound when none is pending.
func (d *Data) OrgDeletionRequest(ctx context.Context, p authz.Principal) (DeletionRequest, error) {
	if err := canDeleteOrg(ctx, p); err != nil {
		return DeletionRequest{}, err
	}
	return d.pendingDeletion(ctx, p.OrgID)
}

func (d *Data) pendingDeletion(ctx context.Context, orgID string) (DeletionRequest, error) {
	const op = "app.OrgDeletionRequest"
	var req DeletionRequest
	err := d.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var at int64
		err := tx.QueryRow(ctx, `SELECT r.org_id, o.slug, r.requested_by, r.requested_at FROM org_deletion_requests r
			JOIN organizations o ON o.id = r.org_id WHERE r.org_id = ?`, orgID).Scan(&req.OrgID, &req.Slug, &req.RequestedBy, &at)
		if store.IsNoRows(err) {
			return errs.E(errs.NotFound, op, "no deletion request is pending for this organization")
		}
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		req.RequestedAt = time.UnixMicro(at).UTC()
		req.Status = pendingConfirmation
		return nil
	})
	return req, err
}

// CancelOrgDeletion withdraws p's organization's pending request.
// Errors: Forbidden without org.delete, NotFound when none is pending.
func (d *Data) CancelOrgDeletion(ctx context.Context, p authz.Principal) error {
	const op = "app.CancelOrgDeletion"
	if err := canDeleteOrg(ctx, p); err != nil {
		return err
	}
	return d.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM org_deletion_requests WHERE org_id = ?", p.OrgID)
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, op, "no deletion request is pending for this organization")
		}
		_, err = d.Audit.Append(ctx, tx, audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: "org.delete_cancel",
			Target: "org:" + p.OrgID, Outcome: audit.Success})
		return err
	})
}

// DeleteOrganization is the operator's confirmation: it crypto-shreds the
// organization named by idOrSlug, whose owner must have asked for it;
// confirm must repeat the slug. actor names the operator for the audit
// log ("operator:<id>" or "cli").
// Errors: NotFound for an unknown organization, Invalid for a wrong
// confirmation or the platform organization, Precondition when no owner
// asked for the deletion.
func (d *Data) DeleteOrganization(ctx context.Context, actor, idOrSlug, confirm string) (Deletion, error) {
	const op = "app.DeleteOrganization"
	org, err := d.FindOrganization(ctx, idOrSlug)
	if err != nil {
		return Deletion{}, err
	}
	if org.ID == identity.PlatformOrgID {
		return Deletion{}, errs.E(errs.Invalid, op, "the platform organization cannot be deleted")
	}
	if confirm != org.Slug {
		return Deletion{}, errs.E(errs.Invalid, op, "confirm: repeat the organization's slug exactly to confirm its deletion")
	}
	del := Deletion{OrgID: org.ID, Slug: org.Slug, DeletedAt: d.Now().UTC().Truncate(time.Microsecond)}
	err = d.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var requestedBy string
		err := tx.QueryRow(ctx, "SELECT requested_by FROM org_deletion_requests WHERE org_id = ?", org.ID).Scan(&requestedBy)
		if store.IsNoRows(err) {
			return errs.E(errs.Precondition, op, "an owner of "+org.Slug+" must request the deletion first (POST /api/v1/organization/deletion); an operator then confirms it")
		}
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		rows, err := d.shredOrg(ctx, tx, org.ID)
		if err != nil {
			return err
		}
		del.Rows = rows
		_, err = d.Audit.Append(ctx, tx, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "org.delete",
			Target: "org:" + org.ID, Outcome: audit.Success,
			Details: map[string]any{"slug": org.Slug, "requested_by": requestedBy, "tables": len(rows)}})
		return err
	})
	if err != nil {
		return Deletion{}, err
	}
	d.afterOrgDeleted(ctx, org.ID, del.DeletedAt)
	return del, nil
}

// shredOrg destroys, inside tx, the organization's keysets (leaving its
// tombstone) and deletes every row it has and its organizations row. It
// reports the rows deleted per table. Used by the operator's confirmation
// and by a restore applying a tombstone published after its backup.
func (d *Data) shredOrg(ctx context.Context, tx *store.Tx, orgID string) (map[string]int64, error) {
	const op = "app.shredOrg"
	var keysets int64
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM org_keysets WHERE org_id = ?", orgID).Scan(&keysets); err != nil {
		return nil, errs.E(errs.Unavailable, op, "database unavailable", err)
	}
	if err := d.Keys.Shred(ctx, tx, orgID); err != nil {
		return nil, err
	}
	// The tombstone stays: it keeps the keys from ever being made again
	// and tells a restore what to destroy.
	rows, err := tx.PurgeOrg(ctx, orgID, "org_tombstones")
	if err != nil {
		return nil, err
	}
	res, err := tx.Exec(ctx, "DELETE FROM organizations WHERE id = ?", orgID)
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot delete the organization", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		rows["organizations"] = n
	}
	if keysets > 0 {
		rows["org_keysets"] = keysets
	}
	return rows, nil
}

// applyOrgTombstone is the restore's applier for a deleted organization:
// the backup predates the deletion, so its keysets and rows are destroyed
// again before the restored instance serves.
func (d *Data) applyOrgTombstone(ctx context.Context, tx *store.Tx, t tombstone.Tombstone) error {
	rows, err := d.shredOrg(ctx, tx, t.Org)
	if err != nil || len(rows) == 0 {
		return err // nothing was left of it: deleted before the backup
	}
	_, err = d.Audit.Append(ctx, tx, audit.Event{Org: audit.PlatformOrg, Actor: "system", Action: "org.delete_reapplied",
		Target: "org:" + t.Org, Outcome: audit.Success, Details: map[string]any{"tables": len(rows)}})
	return err
}

// afterOrgDeleted runs what cannot be part of the transaction: caches,
// blobs outside the database, the tombstone's copy for restores, and the
// SQLite WAL that still holds the deleted pages. Failures are logged: the
// keys are already gone, so what is left is unreadable.
func (d *Data) afterOrgDeleted(ctx context.Context, org string, at time.Time) {
	for _, forget := range d.orgForgetters() {
		forget(org)
	}
	for _, purge := range d.orgPurgers {
		if err := purge(ctx, org); err != nil {
			d.Log.Error("deleting an organization's blobs failed; they are unreadable (keys shredded) but take space", "org", org, "err", err)
		}
	}
	if d.Tombstones != nil {
		if err := d.Tombstones.Publish(ctx, tombstone.Tombstone{Kind: tombstone.Org, Org: org, At: at}); err != nil {
			d.Log.Error("publishing the organization's tombstone to the backup target failed; the next backup publishes it", "org", org, "err", err)
		}
	}
	if err := d.DB.CompactAfterDelete(ctx); err != nil {
		d.Log.Warn("WAL checkpoint after deleting an organization failed", "org", org, "err", err)
	}
}

func (d *Data) orgForgetters() []func(string) {
	return []func(string){d.Records.ForgetOrg, d.Identity.ForgetOrg}
}

func canDeleteOrg(ctx context.Context, p authz.Principal) error {
	return authz.Can(authz.WithPrincipal(ctx, p), authz.OrgDelete, authz.Resource{OrgID: p.OrgID})
}

func actorOf(p authz.Principal) string { return p.Kind + ":" + p.UserID }
