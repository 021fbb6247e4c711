package console

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
)

type accountData struct {
	Me     identity.Me
	Policy password.Policy
}

func (c *Console) accountPage(cl *call) error { return c.renderAccount(cl, http.StatusOK, "", nil) }

func (c *Console) renderAccount(cl *call, status int, msg string, vs []password.Violation) error {
	ctx := cl.r.Context()
	me, err := c.id.WhoAmI(ctx, cl.auth)
	if err != nil {
		return err
	}
	ps, err := c.id.GetPasswordSettings(ctx, cl.auth)
	if err != nil {
		return err
	}
	return cl.render(status, "account", view{Title: "My account", Section: "account", Error: msg, Violations: vs, D: accountData{Me: me, Policy: ps.Policy}})
}

func (c *Console) changePassword(cl *call) error {
	f := cl.r.PostForm
	if err := samePasswords(f); err != nil {
		status, msg, vs := cl.problem(err)
		return c.renderAccount(cl, status, msg, vs)
	}
	if err := c.id.ChangePassword(cl.r.Context(), cl.auth, cl.meta(), f.Get("current_password"), f.Get("password")); err != nil {
		status, msg, vs := cl.problem(err)
		return c.renderAccount(cl, status, msg, vs)
	}
	return cl.redirect("/console/account", url.Values{"done": {"password-changed"}})
}

// twoFactorData is the 2FA page in one of its steps.
type twoFactorData struct {
	Enabled   bool
	Required  bool // the organization requires 2FA and it is not on yet
	Enrolling bool // a secret was just made: show the QR code
	QR        template.URL
	Secret    string // base32, for typing into an app
	URI       string
	Codes     []string // recovery codes, shown once
	CodesFile template.URL
}

func (c *Console) twoFactorPage(cl *call) error {
	return c.renderTwoFactor(cl, http.StatusOK, twoFactorData{}, "")
}

func (c *Console) renderTwoFactor(cl *call, status int, d twoFactorData, msg string) error {
	me, err := c.id.WhoAmI(cl.r.Context(), cl.auth)
	if err != nil {
		return err
	}
	d.Enabled = me.MFAEnabled && len(d.Codes) == 0
	d.Required = cl.auth.State == identity.SessionEnrol
	return cl.render(status, "2fa", view{Title: "Two-factor authentication", Section: "account", Error: msg, D: d})
}

func (c *Console) startTOTP(cl *call) error {
	e, err := c.id.StartTOTP(cl.r.Context(), cl.auth, cl.meta())
	if err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderTwoFactor(cl, status, twoFactorData{}, msg)
	}
	return c.renderTwoFactor(cl, http.StatusOK, enrolment(e), "")
}

// enrolment shows a new secret: the QR code as a data: URL (the CSP allows
// img-src data:) and the secret for typing.
func enrolment(e identity.TOTPEnrollment) twoFactorData {
	d := twoFactorData{Enrolling: true, URI: e.URI}
	// #nosec G203 -- a PNG the server generated, base64-encoded: no markup.
	d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNGB64))
	if u, err := url.Parse(e.URI); err == nil {
		d.Secret = u.Query().Get("secret")
	}
	return d
}

func (c *Console) confirmTOTP(cl *call) error {
	code := strings.TrimSpace(cl.r.PostForm.Get("code"))
	codes, err := c.id.ConfirmTOTP(cl.r.Context(), cl.auth, cl.meta(), code)
	if err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderTwoFactor(cl, status, twoFactorData{}, msg+" Start again to get a new code.")
	}
	file := "Rampart recovery codes for " + cl.auth.Email + "\nEach code works once, instead of a code from your app.\n\n" + strings.Join(codes, "\n") + "\n"
	d := twoFactorData{Codes: codes,
		// #nosec G203 -- percent-encoded text: the browser downloads it, nothing renders it.
		CodesFile: template.URL("data:text/plain;charset=utf-8," + url.PathEscape(file))}
	// The session may have been in the enrol state: it is active now.
	cl.auth.State = identity.SessionActive
	return c.renderTwoFactor(cl, http.StatusOK, d, "")
}

func (c *Console) disableTOTP(cl *call) error {
	code := strings.TrimSpace(cl.r.PostForm.Get("code"))
	if err := c.id.DisableTOTP(cl.r.Context(), cl.auth, cl.meta(), code); err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderTwoFactor(cl, status, twoFactorData{}, msg)
	}
	return cl.redirect("/console/account/2fa", url.Values{"done": {"2fa-disabled"}})
}

func (c *Console) sessionsPage(cl *call) error {
	ss, err := c.id.ListSessions(cl.r.Context(), cl.auth, "")
	if err != nil {
		return err
	}
	for i := range ss {
		ss[i].Current = ss[i].ID == cl.auth.SessionID
	}
	return cl.render(http.StatusOK, "sessions", view{Title: "Active sessions", Section: "account", D: ss})
}

func (c *Console) revokeSession(cl *call) error {
	if err := c.id.RevokeSession(cl.r.Context(), cl.auth, cl.meta(), cl.r.PostForm.Get("id")); err != nil {
		return err
	}
	return cl.redirect("/console/account/sessions", url.Values{"done": {"session-revoked"}})
}

func (c *Console) revokeOtherSessions(cl *call) error {
	if _, err := c.id.RevokeUserSessions(cl.r.Context(), cl.auth, cl.meta(), cl.auth.Principal.UserID, cl.auth.SessionID); err != nil {
		return err
	}
	return cl.redirect("/console/account/sessions", url.Values{"done": {"sessions-revoked"}})
}

type tokensData struct {
	Tokens      []identity.APIToken
	Permissions []authz.PermissionInfo // the ones the member holds
	Created     string                 // a new token's value, shown once
	CreatedName string
}

func (c *Console) tokensPage(cl *call) error {
	return c.renderTokens(cl, http.StatusOK, tokensData{}, "")
}

func (c *Console) renderTokens(cl *call, status int, d tokensData, msg string) error {
	ts, err := c.id.ListAPITokens(cl.r.Context(), cl.auth)
	if err != nil {
		return err
	}
	d.Tokens = ts
	held := map[authz.Permission]bool{}
	for _, p := range authz.Effective(cl.auth.Principal) {
		held[p] = true
	}
	for _, info := range authz.Catalogue() {
		if held[info.Name] {
			d.Permissions = append(d.Permissions, info)
		}
	}
	return cl.render(status, "tokens", view{Title: "Personal API tokens", Section: "account", Error: msg, D: d})
}

func (c *Console) createToken(cl *call) error {
	f := cl.r.PostForm
	days, err := strconv.Atoi(f.Get("expires_days"))
	if err != nil {
		days = 0 // identity names the valid range
	}
	t, value, err := c.id.CreateAPIToken(cl.r.Context(), cl.auth, cl.meta(), f.Get("name"), f["permissions"], time.Duration(days)*24*time.Hour)
	if err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderTokens(cl, status, tokensData{}, msg)
	}
	return c.renderTokens(cl, http.StatusCreated, tokensData{Created: value, CreatedName: t.Name}, "")
}

func (c *Console) revokeToken(cl *call) error {
	if err := c.id.RevokeAPIToken(cl.r.Context(), cl.auth, cl.meta(), cl.r.PostForm.Get("id")); err != nil {
		return err
	}
	return cl.redirect("/console/account/tokens", url.Values{"done": {"token-revoked"}})
}
