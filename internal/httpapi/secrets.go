package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/secrets"
)

// The credential vault (DP4). Every answer but reveal carries metadata
// only; reveal answers the value to an API token or OAuth client holding
// secrets.use, never to a signed-in session, with Cache-Control: no-store.

// parseExpiry reads an optional RFC 3339 expires_at.
func parseExpiry(op string, v *string) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "expires_at: must be an RFC 3339 time such as 2027-01-02T15:04:05Z")
	}
	return &t, nil
}

func (a *api) createSecret(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.createSecret"
	svc := a.secrets
	var req struct {
		Name      string          `json:"name"`
		Type      string          `json:"type"`
		Value     json.RawMessage `json:"value"`
		Metadata  json.RawMessage `json:"metadata"`
		ExpiresAt *string         `json:"expires_at"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	exp, err := parseExpiry(op, req.ExpiresAt)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := svc.Create(r.Context(), authOf(r.Context()).Principal, secrets.Spec{
		Name: req.Name, Type: secrets.Type(req.Type), Value: req.Value, Metadata: req.Metadata, ExpiresAt: exp})
	clear(req.Value)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s)
}

func (a *api) listSecrets(w http.ResponseWriter, r *http.Request) {
	svc := a.secrets
	q := r.URL.Query()
	opts := secrets.ListOptions{Cursor: q.Get("cursor"), Status: q.Get("status")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > secrets.MaxLimit {
			a.fail(w, r, errs.E(errs.Invalid, "httpapi.listSecrets", "limit: must be a number from 1 to "+strconv.Itoa(secrets.MaxLimit)))
			return
		}
		opts.Limit = n
	}
	page, err := svc.List(r.Context(), authOf(r.Context()).Principal, opts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *api) getSecret(w http.ResponseWriter, r *http.Request) {
	svc := a.secrets
	s, err := svc.Get(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.rotateSecret"
	svc := a.secrets
	var req struct {
		Value     json.RawMessage `json:"value"`
		ExpiresAt *string         `json:"expires_at"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	exp, err := parseExpiry(op, req.ExpiresAt)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := svc.Rotate(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"), req.Value, exp)
	clear(req.Value)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) updateSecretMetadata(w http.ResponseWriter, r *http.Request) {
	svc := a.secrets
	var req struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := svc.UpdateMetadata(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"), req.Metadata)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) revealSecret(w http.ResponseWriter, r *http.Request) {
	svc := a.secrets
	var req struct {
		Purpose string `json:"purpose"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	m := meta(r)
	s, v, err := svc.Reveal(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"),
		secrets.RevealRequest{Purpose: req.Purpose, IP: m.IP, UserAgent: m.UserAgent})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer v.Wipe()
	// The value must not be kept by any cache between here and the client.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, revealed{ID: s.ID, Name: s.Name, Type: s.Type, Version: s.Version, Value: v.JSON()})
}

// revealed is the answer to a reveal: the value with what identifies it.
type revealed struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Type    secrets.Type    `json:"type"`
	Version int64           `json:"version"`
	Value   json.RawMessage `json:"value"`
}

func (a *api) revokeSecret(w http.ResponseWriter, r *http.Request) {
	svc := a.secrets
	s, err := svc.Revoke(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}
