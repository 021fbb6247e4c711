package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
)

// home sends a signed-in member to their account page.
func (c *Console) home(cl *call) error { return cl.redirect("/console/account", nil) }

type signInForm struct {
	Org, Email string
}

func (c *Console) signInPage(cl *call) error {
	if cl.signedIn && cl.auth.State == identity.SessionActive {
		return cl.redirect("/console/account", nil)
	}
	return cl.render(http.StatusOK, "sign-in", view{Title: "Sign in", D: signInForm{Org: cl.r.URL.Query().Get("org")}})
}

// signIn checks the password. Every failure shows identity's one uniform
// message (or the lockout wait), so the page never tells whether an
// organization or account exists.
func (c *Console) signIn(cl *call) error {
	f := cl.r.PostForm
	form := signInForm{Org: strings.TrimSpace(f.Get("organization")), Email: strings.TrimSpace(f.Get("email"))}
	res, err := c.id.Login(cl.r.Context(), cl.meta(), identity.LoginRequest{Organization: form.Org, Email: form.Email, Password: f.Get("password")})
	if err != nil {
		status, msg, _ := cl.problem(err)
		return cl.render(status, "sign-in", view{Title: "Sign in", Error: msg, D: form})
	}
	cl.setSession(res.Token)
	return cl.afterSignIn(res.State)
}

// afterSignIn sends a new session where its state lets it go.
func (cl *call) afterSignIn(state string) error {
	switch state {
	case identity.SessionMFA:
		return cl.redirect("/console/sign-in/2fa", nil)
	case identity.SessionEnrol:
		return cl.redirect("/console/account/2fa", url.Values{"done": {"welcome"}})
	}
	return cl.redirect("/console/account", nil)
}

func (c *Console) mfaPage(cl *call) error {
	return cl.render(http.StatusOK, "sign-in-2fa", view{Title: "Two-factor authentication"})
}

func (c *Console) mfa(cl *call) error {
	code := strings.TrimSpace(cl.r.PostForm.Get("code"))
	token, err := c.id.CompleteMFA(cl.r.Context(), cl.meta(), cl.session, code)
	if err != nil {
		status, msg, _ := cl.problem(err)
		return cl.render(status, "sign-in-2fa", view{Title: "Two-factor authentication", Error: msg})
	}
	cl.setSession(token)
	return cl.redirect("/console/account", nil)
}

func (c *Console) signOut(cl *call) error {
	if cl.session != "" {
		if err := c.id.Logout(cl.r.Context(), cl.meta(), cl.session); err != nil {
			return err
		}
	}
	cl.clearSession()
	return cl.redirect("/console/sign-in", url.Values{"done": {"signed-out"}})
}

func (c *Console) forgotPage(cl *call) error {
	return cl.render(http.StatusOK, "forgot", view{Title: "Forgot your password?", D: signInForm{}})
}

// forgot asks for a reset link. The answer is the same whether or not the
// account exists; only the rate limit (which counts unknown accounts
// alike) shows differently.
func (c *Console) forgot(cl *call) error {
	f := cl.r.PostForm
	form := signInForm{Org: strings.TrimSpace(f.Get("organization")), Email: strings.TrimSpace(f.Get("email"))}
	if err := c.id.RequestPasswordReset(cl.r.Context(), cl.meta(), form.Org, form.Email); err != nil {
		status, msg, _ := cl.problem(err)
		return cl.render(status, "forgot", view{Title: "Forgot your password?", Error: msg, D: form})
	}
	return cl.render(http.StatusOK, "forgot", view{Title: "Forgot your password?", D: signInForm{},
		Notice: "If an account with that email exists in that organization, we have sent it a link to choose a new password. The link is valid for 30 minutes."})
}

// linkForm is a page reached from a single-use link: the token arrives in
// the link's fragment (which browsers never send to a server) and the
// script copies it into the form; without script it can be pasted.
type linkForm struct {
	Action  string // form action
	Kind    string // "invitation", "reset", "bootstrap"
	Email   bool   // ask for an email (the bootstrap)
	Policy  password.Policy
	Default bool // Policy is the default, the organization's may differ
}

func (c *Console) resetPage(cl *call) error {
	return cl.render(http.StatusOK, "link", view{Title: "Choose a new password", D: linkForm{Action: "/console/reset", Kind: "reset", Policy: password.DefaultPolicy(), Default: true}})
}

func (c *Console) reset(cl *call) error {
	f := cl.r.PostForm
	if err := samePasswords(f); err != nil {
		return c.linkFailed(cl, "reset", err)
	}
	if _, err := c.id.ConfirmPasswordReset(cl.r.Context(), cl.meta(), strings.TrimSpace(f.Get("token")), f.Get("password")); err != nil {
		return c.linkFailed(cl, "reset", err)
	}
	return cl.redirect("/console/sign-in", url.Values{"done": {"password-reset"}})
}

func (c *Console) invitePage(cl *call) error {
	return cl.render(http.StatusOK, "link", view{Title: "Accept your invitation", D: linkForm{Action: "/console/invite", Kind: "invitation", Policy: password.DefaultPolicy(), Default: true}})
}

func (c *Console) acceptInvite(cl *call) error {
	f := cl.r.PostForm
	if err := samePasswords(f); err != nil {
		return c.linkFailed(cl, "invitation", err)
	}
	wl, err := c.id.AcceptInvite(cl.r.Context(), cl.meta(), strings.TrimSpace(f.Get("token")), f.Get("password"))
	if err != nil {
		return c.linkFailed(cl, "invitation", err)
	}
	cl.setSession(wl.Session.Token)
	return cl.afterSignIn(wl.Session.State)
}

func (c *Console) bootstrapPage(cl *call) error {
	return cl.render(http.StatusOK, "link", view{Title: "Set up this Rampart instance", D: linkForm{Action: "/console/bootstrap", Kind: "bootstrap", Email: true, Policy: password.DefaultPolicy(), Default: true}})
}

func (c *Console) bootstrap(cl *call) error {
	f := cl.r.PostForm
	if err := samePasswords(f); err != nil {
		return c.linkFailed(cl, "bootstrap", err)
	}
	wl, err := c.id.Bootstrap(cl.r.Context(), cl.meta(), strings.TrimSpace(f.Get("token")), strings.TrimSpace(f.Get("email")), f.Get("password"))
	if err != nil {
		return c.linkFailed(cl, "bootstrap", err)
	}
	cl.setSession(wl.Session.Token)
	return cl.afterSignIn(wl.Session.State)
}

func (c *Console) linkFailed(cl *call, kind string, err error) error {
	status, msg, violations := cl.problem(err)
	lf := linkForm{Kind: kind, Policy: password.DefaultPolicy(), Default: true}
	title := ""
	switch kind {
	case "reset":
		lf.Action, title = "/console/reset", "Choose a new password"
	case "invitation":
		lf.Action, title = "/console/invite", "Accept your invitation"
	default:
		lf.Action, title, lf.Email = "/console/bootstrap", "Set up this Rampart instance", true
	}
	return cl.render(status, "link", view{Title: title, Error: msg, Violations: violations, D: lf})
}

// samePasswords checks the confirmation field, when the form has one.
func samePasswords(f url.Values) error {
	if _, ok := f["password_confirm"]; ok && f.Get("password") != f.Get("password_confirm") {
		return errs.E(errs.Invalid, "console", "The two passwords do not match.")
	}
	return nil
}
