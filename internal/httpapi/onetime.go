package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
)

// Endpoints of the single-use links (invitations, password resets, the
// bootstrap) and of platform operators.

// OrganizationCreator creates a tenant: the organization, its keysets and
// its audit entry in one transaction. The application passes the code path
// of `rampart admin org create`, so the API and the CLI cannot drift apart.
type OrganizationCreator interface {
	// CreateOrganization creates the tenant; actor goes into the audit log.
	// Errors: errs.Invalid listing every bad field, errs.Exists for a taken
	// slug, errs.Unavailable.
	CreateOrganization(ctx context.Context, actor, name, slug string) (Organization, error)
}

// Organization is a tenant as the API shows it.
type Organization struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// welcome answers a redeemed invitation or bootstrap link: the new account
// is signed in.
func (a *api) welcome(w http.ResponseWriter, status int, wl identity.Welcome) {
	setSessionCookie(w, wl.Session.Token, a.sessionLifetime)
	writeJSON(w, status, map[string]any{
		"mfa_required":           wl.Session.MFARequired(),
		"mfa_enrolment_required": wl.Session.State == identity.SessionEnrol,
		"user_id":                wl.User.ID,
		"email":                  wl.User.Email,
		"organization":           wl.OrgSlug,
		"roles":                  wl.User.Roles,
	})
}

func (a *api) createInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	inv, err := a.id.CreateInvite(r.Context(), authOf(r.Context()), meta(r), req.Email, req.Roles)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": inv.ID, "email": inv.Email, "roles": inv.Roles, "expires_at": inv.ExpiresAt})
}

func (a *api) listInvites(w http.ResponseWriter, r *http.Request) {
	invs, err := a.id.ListInvites(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": invs})
}

func (a *api) revokeInvite(w http.ResponseWriter, r *http.Request) {
	if err := a.id.RevokeInvite(r.Context(), authOf(r.Context()), meta(r), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) acceptInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	wl, err := a.id.AcceptInvite(r.Context(), meta(r), req.Token, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.welcome(w, http.StatusOK, wl)
}

// resetRequested is the one answer to every accepted reset request.
const resetRequested = "sent if the account exists"

func (a *api) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Organization string `json:"organization"`
		Email        string `json:"email"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.id.RequestPasswordReset(r.Context(), meta(r), req.Organization, req.Email); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": resetRequested})
}

func (a *api) confirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.id.ConfirmPasswordReset(r.Context(), meta(r), req.Token, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "password changed", "sessions_revoked": n})
}

func (a *api) bootstrap(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	wl, err := a.id.Bootstrap(r.Context(), meta(r), req.Token, req.Email, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.welcome(w, http.StatusCreated, wl)
}

func (a *api) createOrganization(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	au := authOf(ctx)
	// Checked before the body is read: a tenant's member learns nothing
	// about what a valid request looks like.
	if err := identity.RequireOperator(ctx, au.Principal); err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
		Slug string `json:"slug"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.orgs == nil {
		a.fail(w, r, errs.E(errs.Unavailable, "httpapi.createOrganization", "creating organizations is not available on this server"))
		return
	}
	o, err := a.orgs.CreateOrganization(ctx, "operator:"+au.Principal.UserID, req.Name, req.Slug)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}
