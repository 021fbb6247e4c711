package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
)

// SessionCookie is the session cookie's name (identity.SessionCookie).
const SessionCookie = identity.SessionCookie

func setSessionCookie(w http.ResponseWriter, token string, lifetime time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(lifetime / time.Second),
	})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type authKey struct{}

// authOf returns the request's authentication (set by authenticate).
func authOf(ctx context.Context) identity.Authenticated {
	a, _ := ctx.Value(authKey{}).(identity.Authenticated)
	return a
}

// allowedStates says which session states may call a route.
type allowedStates uint8

const (
	activeOnly allowedStates = iota // fully signed in
	enrolToo                        // also sessions that must enrol 2FA first
	mfaOnly                         // only sessions waiting for the second factor
)

// authenticate resolves the cookie or bearer token, checks the session
// state against the route's needs and puts the principal in the context.
// (The cross-origin check for unsafe methods runs before it; see routes.)
func (a *api) authenticate(states allowedStates, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var auth identity.Authenticated
		var err error
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			auth, err = a.id.AuthenticateToken(ctx, strings.TrimSpace(bearer))
		} else if c, cerr := r.Cookie(SessionCookie); cerr == nil {
			auth, err = a.id.AuthenticateSession(ctx, c.Value)
		} else {
			err = errs.E(errs.Unauthorized, "httpapi.authenticate", "authentication required: sign in or send a bearer token")
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		switch {
		case states == mfaOnly && auth.State != identity.SessionMFA:
			a.fail(w, r, errs.E(errs.Conflict, "httpapi.authenticate", "this session is not waiting for a second factor"))
			return
		case states != mfaOnly && auth.State == identity.SessionMFA:
			a.fail(w, r, errs.E(errs.Unauthorized, "httpapi.authenticate", "second factor required: POST /api/v1/auth/mfa"))
			return
		case states == activeOnly && auth.State == identity.SessionEnrol:
			a.fail(w, r, errs.E(errs.Forbidden, "httpapi.authenticate", "your organization requires two-factor authentication: enrol first (POST /api/v1/me/totp)"))
			return
		}
		ctx = context.WithValue(ctx, authKey{}, auth)
		ctx = authz.WithPrincipal(ctx, auth.Principal)
		h(w, r.WithContext(ctx))
	}
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Organization string `json:"organization"`
		Email        string `json:"email"`
		Password     string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.id.Login(r.Context(), meta(r), identity.LoginRequest{Organization: req.Organization, Email: req.Email, Password: req.Password})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	setSessionCookie(w, res.Token, a.sessionLifetime)
	writeJSON(w, http.StatusOK, map[string]any{"mfa_required": res.MFARequired(), "mfa_enrolment_required": res.State == identity.SessionEnrol})
}

func (a *api) mfa(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, _ := r.Cookie(SessionCookie)
	if c == nil {
		a.fail(w, r, errs.E(errs.Unauthorized, "httpapi.mfa", "sign in with a password first"))
		return
	}
	token, err := a.id.CompleteMFA(r.Context(), meta(r), c.Value, req.Code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	setSessionCookie(w, token, a.sessionLifetime)
	writeJSON(w, http.StatusOK, map[string]any{"mfa_required": false})
}

func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.id.Logout(r.Context(), meta(r), c.Value); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}
