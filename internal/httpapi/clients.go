package httpapi

import (
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/oidc"
)

// OAuth clients of the organization (IA5): registered with clients.manage;
// a confidential client's secret is answered once, at creation.

func (a *api) createClient(w http.ResponseWriter, r *http.Request) {
	p := a.oauth
	var req oidc.NewClient
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, secret, err := p.CreateClient(r.Context(), meta(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := map[string]any{"client": c}
	if secret != "" {
		out["client_secret"] = secret
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) listClients(w http.ResponseWriter, r *http.Request) {
	p := a.oauth
	cs, err := p.ListClients(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (a *api) getClient(w http.ResponseWriter, r *http.Request) {
	p := a.oauth
	c, err := p.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *api) revokeClient(w http.ResponseWriter, r *http.Request) {
	p := a.oauth
	id := r.PathValue("id")
	if err := p.RevokeClient(r.Context(), meta(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := p.GetClient(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *api) createRegistrationToken(w http.ResponseWriter, r *http.Request) {
	p := a.oauth
	var req struct {
		ExpiresIn int64    `json:"expires_in_seconds"`
		Scopes    []string `json:"scopes"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.ExpiresIn <= 0 || req.ExpiresIn > int64(oidc.MaxRegistrationTokenTTL/time.Second) {
		a.fail(w, r, errs.E(errs.Invalid, "httpapi.createRegistrationToken", "expires_in_seconds: must be between 1 and 604800 (7 days)"))
		return
	}
	t, err := p.CreateRegistrationToken(r.Context(), meta(r), time.Duration(req.ExpiresIn)*time.Second, req.Scopes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}
