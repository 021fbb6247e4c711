package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/identity"
)

// preSessionCookie keys the CSRF token of forms shown before sign-in
// (sign-in itself, password reset, invitations, the bootstrap). The
// __Host- prefix means only this origin, over HTTPS, can set it.
const preSessionCookie = "__Host-rampart_csrf"

// csrfField is the hidden form field that carries the token.
const csrfField = "csrf_token"

// access says which visitors a page serves.
type access uint8

const (
	anyone    access = iota // signed in or not
	active                  // fully signed in
	enrolling               // also sessions that must enrol 2FA first
	pending                 // only sessions waiting for their second factor
)

// call is one request to a console page.
type call struct {
	c        *Console
	w        http.ResponseWriter
	r        *http.Request
	auth     identity.Authenticated
	signedIn bool   // a session cookie resolved (any state)
	session  string // the session cookie's value when signedIn
	csrf     string // the token this page's forms carry
}

// meta is where the request came from, for the audit log (as the API).
func (cl *call) meta() identity.Meta {
	host, _, err := net.SplitHostPort(cl.r.RemoteAddr)
	if err != nil {
		host = cl.r.RemoteAddr
	}
	ua := cl.r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return identity.Meta{IP: host, UserAgent: ua}
}

// can reports whether the signed-in principal holds perm in its organization.
func (cl *call) can(perm authz.Permission) bool {
	p := cl.auth.Principal
	return cl.signedIn && authz.Can(authz.WithPrincipal(cl.r.Context(), p), perm, authz.Resource{OrgID: p.OrgID}) == nil
}

// need answers Forbidden unless the principal holds perm.
func (cl *call) need(perm authz.Permission) error {
	if !cl.can(perm) {
		return errs.E(errs.Forbidden, "console", "You do not have permission to see this page.")
	}
	return nil
}

// redirect sends the browser to path with a 303 (a POST becomes a GET).
func (cl *call) redirect(path string, q url.Values) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(cl.w, cl.r, path, http.StatusSeeOther)
	return nil
}

// page wraps a page handler: it resolves the session, enforces the page's
// access, checks unsafe requests for cross-site forgery, and renders any
// error the handler returns as an error page.
func (c *Console) page(acc access, fn func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl := &call{c: c, w: w, r: r}
		ctx := r.Context()
		if ck, err := r.Cookie(httpapi.SessionCookie); err == nil && ck.Value != "" {
			if a, err := c.id.AuthenticateSession(ctx, ck.Value); err == nil {
				cl.auth, cl.signedIn, cl.session = a, true, ck.Value
			}
		}
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		if unsafe {
			if err := c.csrf.Check(r); err != nil {
				c.errorPage(cl, errForgery())
				return
			}
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					c.errorPage(cl, errs.E(errs.Invalid, "console", "The form is too large."))
					return
				}
				c.errorPage(cl, errs.E(errs.Invalid, "console", "The form could not be read."))
				return
			}
			if !cl.tokenOK(r.PostForm.Get(csrfField)) {
				c.errorPage(cl, errForgery())
				return
			}
		}
		// The token for the forms this answer shows.
		cl.csrf = cl.formToken()
		state := cl.auth.State
		switch acc {
		case active, enrolling:
			switch {
			case !cl.signedIn:
				_ = cl.redirect("/console/sign-in", nil)
				return
			case state == identity.SessionMFA:
				_ = cl.redirect("/console/sign-in/2fa", nil)
				return
			case state == identity.SessionEnrol && acc == active:
				_ = cl.redirect("/console/account/2fa", nil)
				return
			}
			ctx = authz.WithPrincipal(ctx, cl.auth.Principal)
			cl.r = r.WithContext(ctx)
		case pending:
			if !cl.signedIn {
				_ = cl.redirect("/console/sign-in", nil)
				return
			}
			if state != identity.SessionMFA {
				_ = cl.redirect("/console/", nil)
				return
			}
		}
		if err := fn(cl); err != nil {
			c.errorPage(cl, err)
		}
	})
}

func errForgery() error {
	return errs.E(errs.Forbidden, "console.csrf",
		"This form did not come from this site, or it has expired. Reload the page and try again.")
}

// csrfFor derives the form token from a secret the browser holds in an
// HttpOnly cookie: another site can neither read the cookie nor the page.
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("rampart console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// formToken is the token of the session, or of the pre-session cookie,
// which it sets when missing (pages shown before sign-in).
func (cl *call) formToken() string {
	if cl.signedIn {
		return csrfFor(cl.session)
	}
	if ck, err := cl.r.Cookie(preSessionCookie); err == nil && len(ck.Value) >= 32 {
		return csrfFor(ck.Value)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(cl.w, &http.Cookie{Name: preSessionCookie, Value: v, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return csrfFor(v)
}

// tokenOK accepts the token of the current session or of the pre-session
// cookie (a form shown before sign-in, or after the session ended).
func (cl *call) tokenOK(got string) bool {
	if got == "" {
		return false
	}
	var secrets []string
	if ck, err := cl.r.Cookie(httpapi.SessionCookie); err == nil && ck.Value != "" {
		secrets = append(secrets, ck.Value)
	}
	if ck, err := cl.r.Cookie(preSessionCookie); err == nil && len(ck.Value) >= 32 {
		secrets = append(secrets, ck.Value)
	}
	for _, s := range secrets {
		if hmac.Equal([]byte(got), []byte(csrfFor(s))) {
			return true
		}
	}
	return false
}

// setSession stores a session token in the cookie the API uses too.
func (cl *call) setSession(token string) {
	http.SetCookie(cl.w, &http.Cookie{Name: httpapi.SessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(cl.c.lifetime / time.Second)})
}

func (cl *call) clearSession() {
	http.SetCookie(cl.w, &http.Cookie{Name: httpapi.SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
