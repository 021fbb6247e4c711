package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/identity"
)

// OrganizationDeleter deletes tenants (B3): an owner requests it, an
// operator confirms it. The application passes the code path of
// `rampart admin org delete`.
type OrganizationDeleter interface {
	RequestOrgDeletion(ctx context.Context, p authz.Principal, confirm string) (OrgDeletionRequest, error)
	OrgDeletionRequest(ctx context.Context, p authz.Principal) (OrgDeletionRequest, error)
	CancelOrgDeletion(ctx context.Context, p authz.Principal) error
	DeleteOrganization(ctx context.Context, actor, idOrSlug, confirm string) (OrgDeletion, error)
}

// OrgDeletionRequest is an owner's pending request to delete the organization.
type OrgDeletionRequest struct {
	OrgID       string    `json:"org_id"`
	Slug        string    `json:"slug"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Status      string    `json:"status"`
}

// OrgDeletion reports a confirmed deletion.
type OrgDeletion struct {
	OrgID       string           `json:"org_id"`
	Slug        string           `json:"slug"`
	DeletedAt   time.Time        `json:"deleted_at"`
	RowsDeleted map[string]int64 `json:"rows_deleted"`
}

type confirmBody struct {
	Confirm string `json:"confirm"`
}

func (a *api) requestOrgDeletion(w http.ResponseWriter, r *http.Request) {
	d := a.orgDelete
	var req confirmBody
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := d.RequestOrgDeletion(r.Context(), authOf(r.Context()).Principal, req.Confirm)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}

func (a *api) getOrgDeletion(w http.ResponseWriter, r *http.Request) {
	d := a.orgDelete
	out, err := d.OrgDeletionRequest(r.Context(), authOf(r.Context()).Principal)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) cancelOrgDeletion(w http.ResponseWriter, r *http.Request) {
	d := a.orgDelete
	if err := d.CancelOrgDeletion(r.Context(), authOf(r.Context()).Principal); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteOrganization is the operator's confirmation.
func (a *api) deleteOrganization(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	au := authOf(ctx)
	// Checked before anything else: a tenant's member learns nothing.
	if err := identity.RequireOperator(ctx, au.Principal); err != nil {
		a.fail(w, r, err)
		return
	}
	d := a.orgDelete
	var req confirmBody
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := d.DeleteOrganization(ctx, "operator:"+au.Principal.UserID, r.PathValue("id"), req.Confirm)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
