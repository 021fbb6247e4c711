package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/store"
)

//go:embed templates
var templateFS embed.FS

func parsePages() (*template.Template, error) {
	return template.ParseFS(templateFS, "templates/*.html")
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := templateFS.ReadFile("templates/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(b)
}

// Cookies of the sign-in pages, scoped to /oauth/ and never readable by
// script. csrf is a double-submit token; mfa holds the half-signed-in
// session between password and second factor; bind ties a consent to the
// browser that signed in.
const (
	cookieCSRF = "rampart_oauth_csrf"
	cookieMFA  = "rampart_oauth_mfa"
	cookieBind = "rampart_oauth_bind"
)

// page is what every sign-in template gets.
type page struct {
	Title, ClientName, Error, Message string
	SignedInAs                        string // the console session's email, offered as "continue as"
	RequestID, CSRF                   string
	Organization, Email               string
	Scopes                            []string
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: PathPrefix, MaxAge: maxAge, Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (p *Provider) render(w http.ResponseWriter, status int, name string, pg page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.pages.ExecuteTemplate(w, name, pg); err != nil {
		p.log.Error("sign-in page", "template", name, "err", err)
	}
}

func (p *Provider) message(w http.ResponseWriter, status int, title, msg string) {
	p.render(w, status, "message", page{Title: title, Message: msg})
}

// csrfToken returns the browser's double-submit token, setting one if
// it has none.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(cookieCSRF); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := randomValue()
	setCookie(w, cookieCSRF, v, 3600)
	return v
}

// csrfOK checks the form token against the cookie.
func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(cookieCSRF)
	return err == nil && len(c.Value) == 43 && subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// pending loads the auth request a sign-in page works on, answering the
// browser itself when it is unusable.
func (p *Provider) pending(w http.ResponseWriter, r *http.Request, id string) (*authRequest, Client, bool) {
	a, err := p.authRequestByID(r.Context(), id)
	if err == nil && a.done {
		err = errs.E(errs.NotFound, "oidc.login", "this sign-in has been completed")
	}
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			p.message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in request has expired or is unknown. Go back to the application and start again.")
		} else {
			p.log.ErrorContext(r.Context(), "sign-in page", "err", err)
			p.message(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Try again in a moment.")
		}
		return nil, Client{}, false
	}
	c, err := p.clientByID(r.Context(), a.clientID)
	if err != nil || c.RevokedAt != nil {
		p.message(w, http.StatusBadRequest, "Application unavailable", "This application is no longer registered.")
		return nil, Client{}, false
	}
	return a, c, true
}

func (p *Provider) orgSlug(ctx context.Context, org string) string {
	var slug string
	_ = p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT slug FROM organizations WHERE id = ?", org).Scan(&slug)
	})
	return slug
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	a, c, ok := p.pending(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	pg := page{Title: "Sign in", ClientName: c.Name, RequestID: a.id, CSRF: csrfToken(w, r),
		Organization: p.orgSlug(r.Context(), a.orgID), Email: a.params.LoginHint}
	if who, ok := p.consoleSession(r, a); ok {
		pg.SignedInAs = who.Email
	}
	p.render(w, http.StatusOK, "login", pg)
}

// consoleSession returns the browser's signed-in Rampart session when it
// can answer this request: fully signed in (second factor done), in the
// client's organization, and the application did not ask for a fresh
// sign-in (prompt=login).
func (p *Provider) consoleSession(r *http.Request, a *authRequest) (identity.Authenticated, bool) {
	if slices.Contains(a.params.Prompt, "login") {
		return identity.Authenticated{}, false
	}
	ck, err := r.Cookie(identity.SessionCookie)
	if err != nil {
		return identity.Authenticated{}, false
	}
	who, err := p.identity.AuthenticateSession(r.Context(), ck.Value)
	if err != nil || who.State != identity.SessionActive || who.Principal.OrgID != a.orgID {
		return identity.Authenticated{}, false
	}
	return who, true
}

// continueSubmit signs in with the browser's console session ("Continue
// as ..."), which stays signed in: it is the person's, not this flow's.
func (p *Provider) continueSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.formOK(w, r) {
		return
	}
	a, c, ok := p.pending(w, r, r.PostFormValue("authRequestID"))
	if !ok {
		return
	}
	who, ok := p.consoleSession(r, a)
	if !ok {
		p.message(w, http.StatusUnauthorized, "Sign-in expired", "Your Rampart session has ended. Go back to the application and sign in again.")
		return
	}
	p.completeLogin(w, r, a, c, who, []string{"pwd"})
}

// formOK parses a sign-in form and checks its CSRF token.
func (p *Provider) formOK(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	if !csrfOK(r) {
		p.message(w, http.StatusForbidden, "Sign-in expired", "The form has expired. Go back to the application and start again.")
		return false
	}
	return true
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.formOK(w, r) {
		return
	}
	a, c, ok := p.pending(w, r, r.PostFormValue("authRequestID"))
	if !ok {
		return
	}
	pg := page{Title: "Sign in", ClientName: c.Name, RequestID: a.id, CSRF: csrfToken(w, r),
		Organization: r.PostFormValue("organization"), Email: r.PostFormValue("email")}
	res, err := p.identity.Login(r.Context(), requestMeta(r), identity.LoginRequest{Organization: pg.Organization,
		Email: pg.Email, Password: r.PostFormValue("password")})
	if err != nil {
		p.loginError(w, err, "login", pg)
		return
	}
	switch res.State {
	case identity.SessionMFA:
		setCookie(w, cookieMFA, res.Token, 600)
		pg.Title = "Two-factor authentication"
		p.render(w, http.StatusOK, "mfa", pg)
	case identity.SessionEnrol:
		_ = p.identity.Logout(r.Context(), requestMeta(r), res.Token)
		p.message(w, http.StatusForbidden, "Two-factor authentication required",
			"Your organization requires two-factor authentication. Set it up in the Rampart console, then sign in to the application again.")
	default:
		p.finishLogin(w, r, a, c, res.Token, []string{"pwd"})
	}
}

// loginError shows the uniform failure (or the lockout) on the form.
func (p *Provider) loginError(w http.ResponseWriter, err error, tmpl string, pg page) {
	status := http.StatusUnauthorized
	switch errs.KindOf(err) {
	case errs.Unauthorized, errs.Invalid, errs.Conflict:
	case errs.RateLimited:
		status = http.StatusTooManyRequests
		if n := identity.RetryAfter(err); n > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(n))
		}
	case errs.Unavailable:
		status = http.StatusServiceUnavailable
	default:
		p.log.Error("sign-in failed", "err", err)
		pg.Error = "Signing in is not possible right now. Try again in a moment."
		p.render(w, http.StatusInternalServerError, tmpl, pg)
		return
	}
	pg.Error = errs.SafeMessage(err)
	p.render(w, status, tmpl, pg)
}

func (p *Provider) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.formOK(w, r) {
		return
	}
	a, c, ok := p.pending(w, r, r.PostFormValue("authRequestID"))
	if !ok {
		return
	}
	pg := page{Title: "Two-factor authentication", ClientName: c.Name, RequestID: a.id, CSRF: csrfToken(w, r)}
	ck, err := r.Cookie(cookieMFA)
	if err != nil {
		p.message(w, http.StatusBadRequest, "Sign-in expired", "Go back to the application and sign in again.")
		return
	}
	token, err := p.identity.CompleteMFA(r.Context(), requestMeta(r), ck.Value, r.PostFormValue("code"))
	if err != nil {
		if errs.KindOf(err) == errs.Unauthorized && errs.SafeMessage(err) != "invalid or already used code" {
			// The half-signed-in session itself is gone.
			setCookie(w, cookieMFA, "", -1)
			p.message(w, http.StatusUnauthorized, "Sign-in expired", "Go back to the application and sign in again.")
			return
		}
		p.loginError(w, err, "mfa", pg)
		return
	}
	setCookie(w, cookieMFA, "", -1)
	p.finishLogin(w, r, a, c, token, []string{"pwd", "otp"})
}

// finishLogin records who signed in on the request, then asks for consent
// or sends the browser back to the library's callback.
func (p *Provider) finishLogin(w http.ResponseWriter, r *http.Request, a *authRequest, c Client, sessionToken string, amr []string) {
	ctx := r.Context()
	m := requestMeta(r)
	who, err := p.identity.AuthenticateSession(ctx, sessionToken)
	// The session only served this sign-in; the application gets tokens.
	_ = p.identity.Logout(ctx, m, sessionToken)
	if err != nil {
		p.message(w, http.StatusUnauthorized, "Sign-in expired", "Go back to the application and sign in again.")
		return
	}
	p.completeLogin(w, r, a, c, who, amr)
}

// completeLogin records who signed in on the request, then asks for
// consent or sends the browser back to the library's callback.
func (p *Provider) completeLogin(w http.ResponseWriter, r *http.Request, a *authRequest, c Client, who identity.Authenticated, amr []string) {
	ctx := r.Context()
	var err error
	if who.Principal.OrgID != a.orgID {
		p.message(w, http.StatusForbidden, "Wrong organization", "This application belongs to another organization than your account.")
		return
	}
	need := !c.FirstParty
	if need {
		if need, err = p.needsConsent(ctx, who.Principal.UserID, c.ID, a.params.Scopes); err != nil {
			p.log.ErrorContext(ctx, "consent lookup", "err", err)
			p.message(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Try again in a moment.")
			return
		}
	}
	bind := randomValue()
	amrJSON, _ := json.Marshal(amr)
	err = p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE oauth_auth_requests SET user_id = ?, auth_time = ?, amr = ?, done = ?, binding = ? WHERE id = ? AND done = 0",
			who.Principal.UserID, p.now().UnixMicro(), string(amrJSON), boolInt(!need), hashSecret(bind), a.id)
		return err
	})
	if err != nil {
		p.log.ErrorContext(ctx, "sign-in", "err", err)
		p.message(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Try again in a moment.")
		return
	}
	setCookie(w, cookieBind, bind, 600)
	if !need {
		p.toCallback(w, r, a.id)
		return
	}
	p.render(w, http.StatusOK, "consent", page{Title: "Allow access?", ClientName: c.Name, RequestID: a.id, CSRF: csrfToken(w, r), Scopes: a.params.Scopes})
}

func (p *Provider) toCallback(w http.ResponseWriter, r *http.Request, id string) {
	http.Redirect(w, r, PathAuthorize+"/callback?id="+url.QueryEscape(id), http.StatusFound)
}

func (p *Provider) needsConsent(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	var raw string
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT scopes FROM oauth_consents WHERE user_id = ? AND client_id = ?", userID, clientID).Scan(&raw)
	})
	if store.IsNoRows(err) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	var granted []string
	_ = json.Unmarshal([]byte(raw), &granted)
	for _, s := range scopes {
		if !slices.Contains(granted, s) {
			return true, nil
		}
	}
	return false, nil
}

func (p *Provider) consentSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.formOK(w, r) {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("authRequestID")
	a, c, ok := p.pending(w, r, id)
	if !ok {
		return
	}
	ck, err := r.Cookie(cookieBind)
	var stored []byte
	if err == nil {
		err = p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT binding FROM oauth_auth_requests WHERE id = ? AND user_id <> ''", a.id).Scan(&stored)
		})
	}
	if err != nil || len(stored) == 0 || subtle.ConstantTimeCompare(stored, hashSecret(ck.Value)) != 1 {
		p.message(w, http.StatusForbidden, "Sign-in expired", "Go back to the application and sign in again.")
		return
	}
	m := requestMeta(r)
	allow := r.PostFormValue("decision") == "allow"
	scopes, _ := json.Marshal(a.params.Scopes)
	now := p.now().UnixMicro()
	err = p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		outcome := audit.Denied
		if allow {
			outcome = audit.Success
			if _, err := tx.Exec(ctx, "DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?", a.userID, c.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO oauth_consents (org_id, user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?, ?)",
				a.orgID, a.userID, c.ID, string(scopes), now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE oauth_auth_requests SET done = 1 WHERE id = ?", a.id); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, "DELETE FROM oauth_auth_requests WHERE id = ?", a.id); err != nil {
			return err
		}
		_, err := p.audit.Append(ctx, tx, audit.Event{Org: a.orgID, Actor: "user:" + a.userID, Action: "oauth.consent", Target: "client:" + c.ID,
			Outcome: outcome, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"scopes": a.params.Scopes}})
		return err
	})
	if err != nil {
		p.log.ErrorContext(ctx, "consent", "err", err)
		p.message(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Try again in a moment.")
		return
	}
	if !allow {
		op.AuthRequestError(w, r, a, oidc.ErrAccessDenied().WithDescription("the user denied access"), p.op)
		return
	}
	p.toCallback(w, r, a.id)
}

func (p *Provider) signedOut(w http.ResponseWriter, r *http.Request) {
	p.message(w, http.StatusOK, "Signed out", "You have been signed out of the application.")
}

// boundToBrowser lets only the browser that signed in (holding the bind
// cookie whose hash is on the request) reach the library's callback, which
// issues the code: a leaked request id is worth nothing elsewhere.
func (p *Provider) boundToBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		ck, err := r.Cookie(cookieBind)
		var stored []byte
		if err == nil && len(id) == 36 {
			err = p.db.Read(r.Context(), func(ctx context.Context, tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT binding FROM oauth_auth_requests WHERE id = ?", id).Scan(&stored)
			})
		}
		if err != nil || len(stored) == 0 || subtle.ConstantTimeCompare(stored, hashSecret(ck.Value)) != 1 {
			p.message(w, http.StatusForbidden, "Sign-in expired", "Go back to the application and sign in again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
