package httpapi

import (
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/identity"
)

func (a *api) me(w http.ResponseWriter, r *http.Request) {
	me, err := a.id.WhoAmI(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, me)
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		ExpiresIn   int64    `json:"expires_in_seconds"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	t, value, err := a.id.CreateAPIToken(r.Context(), authOf(r.Context()), meta(r), req.Name, req.Permissions, time.Duration(req.ExpiresIn)*time.Second)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "token": value, "name": t.Name, "permissions": t.Permissions, "expires_at": t.ExpiresAt})
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.id.ListAPITokens(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ts})
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.id.RevokeAPIToken(r.Context(), authOf(r.Context()), meta(r), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) startTOTP(w http.ResponseWriter, r *http.Request) {
	e, err := a.id.StartTOTP(r.Context(), authOf(r.Context()), meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *api) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	codes, err := a.id.ConfirmTOTP(r.Context(), authOf(r.Context()), meta(r), req.Code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (a *api) disableTOTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.id.DisableTOTP(r.Context(), authOf(r.Context()), meta(r), req.Code); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	ss, err := a.id.ListSessions(r.Context(), authOf(r.Context()), r.URL.Query().Get("user"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ss})
}

func (a *api) revokeSession(w http.ResponseWriter, r *http.Request) {
	if err := a.id.RevokeSession(r.Context(), authOf(r.Context()), meta(r), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) revokeAllSessions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User        string `json:"user"`
		KeepCurrent bool   `json:"keep_current"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	au := authOf(r.Context())
	if req.User == "" {
		req.User = au.Principal.UserID
	}
	keep := ""
	if req.KeepCurrent {
		keep = au.SessionID
	}
	n, err := a.id.RevokeUserSessions(r.Context(), au, meta(r), req.User, keep)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

func (a *api) getPolicy(w http.ResponseWriter, r *http.Request) {
	ps, err := a.id.GetPasswordSettings(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ps)
}

func (a *api) putPolicy(w http.ResponseWriter, r *http.Request) {
	var ps identity.PasswordSettings
	if err := decode(r, &ps); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.id.SetPasswordSettings(r.Context(), authOf(r.Context()), meta(r), ps); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ps)
}

func (a *api) listAudit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	au := authOf(ctx)
	if err := authz.Can(ctx, authz.AuditRead, authz.Resource{OrgID: au.Principal.OrgID}); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := audit.ParseFilter(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.auditLog.Search(ctx, a.db, au.Principal.OrgID, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *api) listMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := a.id.ListMembers(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ms})
}

func (a *api) setMemberRoles(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Roles []string `json:"roles"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.id.SetMemberRoles(r.Context(), authOf(r.Context()), meta(r), r.PathValue("id"), req.Roles); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "roles": req.Roles})
}

func (a *api) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.id.ChangePassword(r.Context(), authOf(r.Context()), meta(r), req.Current, req.New); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listRoles(w http.ResponseWriter, r *http.Request) {
	rs, err := a.id.ListRoles(r.Context(), authOf(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rs})
}

func (a *api) putRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Permissions []authz.Permission `json:"permissions"`
		Collections []string           `json:"collections"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	role, err := a.id.PutRole(r.Context(), authOf(r.Context()), meta(r), authz.Role{Name: r.PathValue("name"), Permissions: req.Permissions, Collections: req.Collections})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, role)
}

func (a *api) deleteRole(w http.ResponseWriter, r *http.Request) {
	if err := a.id.DeleteRole(r.Context(), authOf(r.Context()), meta(r), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := a.id.RemoveMember(r.Context(), authOf(r.Context()), meta(r), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
