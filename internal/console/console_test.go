package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/console"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/perimeter"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// The console and the API share one session cookie.
func TestSessionCookieIsTheAPIs(t *testing.T) {
	if httpapi.SessionCookie != "__Host-rampart_session" {
		t.Fatalf("session cookie is %q", httpapi.SessionCookie)
	}
	// The TOTP page shows its QR code as a data: URL.
	if !strings.Contains(perimeter.ContentSecurityPolicy, "img-src 'self' data:") ||
		!strings.Contains(perimeter.ContentSecurityPolicy, "script-src 'self';") ||
		!strings.Contains(perimeter.ContentSecurityPolicy, "style-src 'self';") {
		t.Fatalf("CSP: %s", perimeter.ContentSecurityPolicy)
	}
	if len(console.Patterns()) == 0 {
		t.Fatal("no patterns")
	}
}

func TestConsole(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { consoleScenarios(t, d) })
	}
}

func consoleScenarios(t *testing.T, d store.Dialect) {
	in := start(t, d)
	in.seed()

	t.Run("anonymous pages answer 200 and protected pages send the visitor to sign in", func(t *testing.T) {
		b := in.browser(t)
		for _, p := range []string{"/console/sign-in", "/console/forgot", "/console/reset", "/reset", "/console/invite", "/invite", "/bootstrap", "/console/bootstrap"} {
			pg := b.expect(b.get(p), 200, "GET "+p)
			if !strings.Contains(pg.body, `name="csrf_token"`) || !strings.Contains(pg.body, "<main") {
				t.Fatalf("GET %s: not a console form page", p)
			}
			if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Fatalf("GET %s: CSP %q", p, csp)
			}
		}
		for _, p := range []string{"/console/", "/console/account", "/console/account/2fa", "/console/account/sessions", "/console/account/tokens",
			"/console/org/members", "/console/org/members/x", "/console/org/roles", "/console/org/roles/x", "/console/org/policy",
			"/console/org/audit", "/console/org/audit/export", "/console/org/collections", "/console/operator/orgs", "/console/sign-in/2fa"} {
			pg := b.get(p)
			if pg.status != http.StatusSeeOther || pg.location != "/console/sign-in" {
				t.Fatalf("GET %s signed out: %d %q", p, pg.status, pg.location)
			}
		}
		if pg := b.get("/"); pg.status != http.StatusSeeOther || pg.location != "/console/" {
			t.Fatalf("GET /: %d %q", pg.status, pg.location)
		}
		// A signed-out POST is refused before anything happens.
		pg := b.post("/console/account/password", url.Values{"current_password": {pw}, "password": {"x"}}, "/console/sign-in")
		if pg.status != http.StatusSeeOther || pg.location != "/console/sign-in" {
			t.Fatalf("signed-out POST: %d %q", pg.status, pg.location)
		}
	})

	t.Run("assets are served same-origin with their types", func(t *testing.T) {
		b := in.browser(t)
		css := b.expect(b.get("/console/static/console.css"), 200, "css")
		if !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
			t.Fatalf("css type %q", css.header.Get("Content-Type"))
		}
		js := b.expect(b.get("/console/static/console.js"), 200, "js")
		if !strings.Contains(js.header.Get("Content-Type"), "javascript") {
			t.Fatalf("js type %q", js.header.Get("Content-Type"))
		}
		b.expect(b.get("/console/static/nope.js"), 404, "missing asset")
	})

	t.Run("error pages say what happened without internals", func(t *testing.T) {
		b := in.browser(t)
		pg := b.expect(b.get("/console/no-such-page"), 404, "unknown page")
		if !strings.Contains(pg.body, "Page not found") || strings.Contains(pg.body, "console.page") || strings.Contains(pg.body, "errs.") || strings.Contains(pg.body, "goroutine") {
			t.Fatalf("404 page: %s", excerpt(pg.body))
		}
		b.mustSignIn("acme", "member@acme.test")
		pg = b.expect(b.get("/console/org/policy"), 403, "member on policy")
		if !strings.Contains(pg.body, "Not allowed") || strings.Contains(pg.body, "policy.manage") && strings.Contains(pg.body, "authz") {
			t.Fatalf("403 page: %s", excerpt(pg.body))
		}
	})

	t.Run("sign-in failures never tell whether the organization or account exists", func(t *testing.T) {
		b := in.browser(t)
		var msgs []string
		for _, c := range [][2]string{{"acme", "owner@acme.test"}, {"acme", "nobody@acme.test"}, {"nowhere", "owner@acme.test"}} {
			pwd := "wrong password here"
			if c[1] != "owner@acme.test" {
				pwd = pw
			}
			pg := b.expect(b.signIn(c[0], c[1], pwd), 401, "failed sign-in")
			m := regexp.MustCompile(`role="alert">\s*<p>([^<]*)</p>`).FindStringSubmatch(pg.body)
			if m == nil {
				t.Fatalf("no error shown: %s", excerpt(pg.body))
			}
			msgs = append(msgs, m[1])
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Fatalf("messages differ: %q", msgs)
		}
		// The form keeps what was typed, except the password.
		pg := b.signIn("acme", "nobody@acme.test", "typed secret 123")
		if strings.Contains(pg.body, "typed secret 123") || !strings.Contains(pg.body, `value="nobody@acme.test"`) {
			t.Fatal("sign-in form echoed the password or lost the email")
		}
	})

	t.Run("lockout shows when to retry, for unknown accounts alike", func(t *testing.T) {
		if _, err := in.data.Identity.CreateUserAsOperator(context.Background(), "operator:test", in.orgs["globex"].ID,
			identity.NewUser{Email: "victim@globex.test", Password: pw, Roles: []string{"member"}}); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"victim@globex.test", "ghost@globex.test"} {
			b := in.browser(t)
			var pg page
			for i := 0; i < 8; i++ {
				if pg = b.signIn("globex", email, "wrong password here"); pg.status == http.StatusTooManyRequests {
					break
				}
			}
			if pg.status != http.StatusTooManyRequests || !regexp.MustCompile(`Try again in \d+ seconds \(at \d\d:\d\d:\d\d UTC\)`).MatchString(pg.body) || pg.header.Get("Retry-After") == "" {
				t.Fatalf("%s: no lockout message: %d %s", email, pg.status, excerpt(pg.body))
			}
		}
	})

	t.Run("a console sign-in works on the API and sign-out ends it", func(t *testing.T) {
		b := in.browser(t)
		b.mustSignIn("acme", "owner@acme.test")
		pg := b.expect(b.get("/console/account"), 200, "account")
		if !strings.Contains(pg.body, "owner@acme.test") || !strings.Contains(pg.body, "acme") {
			t.Fatalf("account page: %s", excerpt(pg.body))
		}
		b.expect(b.get("/api/v1/me"), 200, "API with the console's cookie")
		pg = b.post("/console/sign-out", nil, "/console/account")
		if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location, "/console/sign-in") {
			t.Fatalf("sign out: %d %q", pg.status, pg.location)
		}
		b.expect(b.get("/api/v1/me"), 401, "API after sign-out")
		if pg := b.get("/console/account"); pg.status != http.StatusSeeOther {
			t.Fatalf("account after sign-out: %d", pg.status)
		}
	})

	t.Run("every page answers 200 for the right member and 403 otherwise", func(t *testing.T) {
		owner, member, auditor := in.browser(t), in.browser(t), in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		member.mustSignIn("acme", "member@acme.test")
		auditor.mustSignIn("acme", "auditor@acme.test")
		memberID := in.users["member@acme.test"]
		cases := []struct {
			path                  string
			owner, member, auditr int
		}{
			{"/console/account", 200, 200, 200},
			{"/console/account/2fa", 200, 200, 200},
			{"/console/account/sessions", 200, 200, 200},
			{"/console/account/tokens", 200, 200, 200},
			{"/console/org/members", 200, 200, 200},
			{"/console/org/members/" + memberID, 200, 200, 200},
			{"/console/org/roles", 200, 200, 200},
			{"/console/org/policy", 200, 403, 403},
			{"/console/org/audit", 200, 403, 200},
			{"/console/org/audit/export", 200, 403, 200},
			{"/console/org/collections", 200, 200, 200},
			{"/console/org/clients", 200, 403, 403},
			{"/console/org/credentials", 200, 403, 403},
			{"/console/operator/orgs", 403, 403, 403},
		}
		for _, c := range cases {
			for _, x := range []struct {
				b    *browser
				want int
			}{{owner, c.owner}, {member, c.member}, {auditor, c.auditr}} {
				x.b.expect(x.b.get(c.path), x.want, "GET "+c.path)
			}
		}
		// The navigation shows only what the member may open.
		pg := member.get("/console/account")
		if strings.Contains(pg.body, `href="/console/org/policy"`) || strings.Contains(pg.body, `href="/console/org/audit"`) {
			t.Fatal("member sees admin sections in the navigation")
		}
		pg = owner.get("/console/account")
		for _, s := range []string{"/console/org/members", "/console/org/roles", "/console/org/policy", "/console/org/audit"} {
			if !strings.Contains(pg.body, `href="`+s+`"`) {
				t.Fatalf("owner's navigation lacks %s", s)
			}
		}
		// Members cannot change anything that needs a permission.
		member.expect(member.post("/console/org/members/invite", url.Values{"email": {"x@acme.test"}, "roles": {"member"}}, "/console/account"), 403, "member invites")
		member.expect(member.post("/console/org/policy", url.Values{"min_length": {"8"}, "max_length": {"64"}, "max_age_days": {"0"}}, "/console/account"), 403, "member sets policy")
		member.expect(member.post("/console/org/audit/verify", nil, "/console/account"), 403, "member verifies")
	})

	t.Run("another organization's ids are never found", func(t *testing.T) {
		owner := in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		foreign := in.users["member@globex.test"]
		owner.expect(owner.get("/console/org/members/"+foreign), 404, "foreign member page")
		owner.expect(owner.post("/console/org/members/"+foreign+"/roles", url.Values{"roles": {"admin"}}, "/console/account"), 404, "foreign member roles")
		owner.expect(owner.post("/console/org/members/"+foreign+"/remove", url.Values{"confirm": {"yes"}}, "/console/account"), 404, "foreign member removal")
		owner.expect(owner.post("/console/org/members/"+foreign+"/sessions/revoke", nil, "/console/account"), 404, "foreign member sessions")

		// globex gets a custom role and an invitation acme must not see.
		g := in.browser(t)
		g.mustSignIn("globex", "owner@globex.test")
		g.expect(g.post("/console/org/roles", url.Values{"name": {"globex-only"}, "permissions": {"records.read"}}, "/console/org/roles"), 303, "globex role")
		g.expect(g.post("/console/org/members/invite", url.Values{"email": {"new@globex.test"}, "roles": {"member"}}, "/console/org/members"), 303, "globex invite")
		owner.expect(owner.get("/console/org/roles/globex-only"), 404, "foreign role page")
		owner.expect(owner.post("/console/org/roles/globex-only/delete", nil, "/console/account"), 404, "foreign role deletion")
		pg := owner.get("/console/org/members")
		if strings.Contains(pg.body, "globex") {
			t.Fatal("acme's members page shows globex data")
		}
		inviteID := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(g.get("/console/org/members").body)
		if inviteID == nil {
			t.Fatal("no invitation id on globex's page")
		}
		owner.expect(owner.post("/console/org/invites/revoke", url.Values{"id": {inviteID[1]}}, "/console/account"), 404, "foreign invitation")
		// Another member's session id from another org.
		gs := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(g.get("/console/account/sessions").body)
		if gs != nil {
			owner.expect(owner.post("/console/account/sessions/revoke", url.Values{"id": {gs[1]}}, "/console/account"), 404, "foreign session")
		}
		g.expect(g.get("/console/account"), 200, "globex session still alive")
		pg = owner.get("/console/org/audit?action=role.")
		if strings.Contains(pg.body, "globex-only") {
			t.Fatal("acme's audit log shows globex's entries")
		}
	})

	t.Run("cross-site form posts are refused", func(t *testing.T) {
		b := in.browser(t)
		b.mustSignIn("acme", "owner@acme.test")
		token := b.csrf("/console/account")
		form := url.Values{"name": {"csrf-test"}, "permissions": {"records.read"}, "expires_days": {"7"}, "csrf_token": {token}}
		noToken := cloneValues(form)
		noToken.Del("csrf_token")
		wrongToken := cloneValues(form)
		wrongToken.Set("csrf_token", "AAAA"+token[4:])
		for _, c := range []struct {
			name    string
			form    url.Values
			headers map[string]string
		}{
			{"Sec-Fetch-Site cross-site, with the token", form, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"foreign Origin, with the token", form, map[string]string{"Origin": "https://evil.example"}},
			{"same-site sibling without the token", noToken, map[string]string{"Sec-Fetch-Site": "same-site"}},
			{"cross-site without the token", noToken, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"same origin without the token", noToken, map[string]string{"Sec-Fetch-Site": "same-origin"}},
			{"same origin with a wrong token", wrongToken, map[string]string{"Sec-Fetch-Site": "same-origin"}},
			{"no fetch metadata and no token", noToken, nil},
		} {
			pg := b.postRaw("/console/account/tokens", c.form, c.headers)
			if pg.status != http.StatusForbidden {
				t.Fatalf("%s: status %d", c.name, pg.status)
			}
		}
		if strings.Contains(b.get("/console/account/tokens").body, "csrf-test") {
			t.Fatal("a refused post created a token")
		}
		// Login CSRF: a foreign site cannot sign a victim in.
		anon := in.browser(t)
		pg := anon.postRaw("/console/sign-in", url.Values{"organization": {"acme"}, "email": {"owner@acme.test"}, "password": {pw}, "csrf_token": {anon.csrf("/console/sign-in")}},
			map[string]string{"Sec-Fetch-Site": "cross-site"})
		if pg.status != http.StatusForbidden {
			t.Fatalf("cross-site sign-in: %d", pg.status)
		}
		// A token of another session does not work.
		other := in.browser(t)
		other.mustSignIn("acme", "member@acme.test")
		stolen := cloneValues(form)
		stolen.Set("csrf_token", other.csrf("/console/account"))
		if pg := b.postRaw("/console/account/tokens", stolen, map[string]string{"Sec-Fetch-Site": "same-origin"}); pg.status != http.StatusForbidden {
			t.Fatalf("another session's token: %d", pg.status)
		}
		// And the right one does.
		b.expect(b.postRaw("/console/account/tokens", form, map[string]string{"Sec-Fetch-Site": "same-origin"}), 201, "same-origin post with the token")
	})

	t.Run("markup in names, user agents and filters renders as text", func(t *testing.T) {
		const xss = `<script>alert(1)</script>`
		esc := html.EscapeString(xss)
		evil := in.browser(t)
		evil.ua = xss
		evil.mustSignIn("acme", "member@acme.test")
		evil.expect(evil.post("/console/account/tokens", url.Values{"name": {xss}, "permissions": {"records.read"}, "expires_days": {"7"}}, "/console/account/tokens"), 201, "token named with markup")
		owner := in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		pages := map[string]string{
			"tokens":   evil.get("/console/account/tokens").body,
			"sessions": evil.get("/console/account/sessions").body,
			"member":   owner.get("/console/org/members/" + in.users["member@acme.test"]).body,
			"audit":    owner.get("/console/org/audit?action=token.").body,
			"filter":   owner.get("/console/org/audit?actor=" + url.QueryEscape(`"><script>alert(1)</script>`)).body,
			"sign-in":  in.browser(t).post("/console/sign-in", url.Values{"organization": {xss}, "email": {xss}, "password": {"x"}}, "/console/sign-in").body,
		}
		for name, body := range pages {
			if strings.Contains(body, xss) {
				t.Fatalf("%s page contains live markup:\n%s", name, excerpt(body))
			}
		}
		for _, name := range []string{"tokens", "sessions", "member"} {
			if !strings.Contains(pages[name], esc) {
				t.Fatalf("%s page does not show the escaped text:\n%s", name, excerpt(pages[name]))
			}
		}
	})

	t.Run("TOTP enrolment, sign-in with a code or a recovery code, disable", func(t *testing.T) {
		b := in.browser(t)
		b.mustSignIn("acme", "auditor@acme.test")
		pg := b.expect(b.post("/console/account/2fa/start", nil, "/console/account/2fa"), 200, "start TOTP")
		if !strings.Contains(pg.body, `src="data:image/png;base64,`) {
			t.Fatalf("no QR code image: %s", excerpt(pg.body))
		}
		secret := regexp.MustCompile(`id="totp-secret" class="secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.body)
		if secret == nil {
			t.Fatal("no secret shown")
		}
		bad := b.post("/console/account/2fa/confirm", url.Values{"code": {"000000"}}, "/console/account/2fa")
		if bad.status < 400 {
			t.Fatalf("wrong code accepted: %d", bad.status)
		}
		pg = b.expect(b.post("/console/account/2fa/start", nil, "/console/account/2fa"), 200, "restart TOTP")
		secret = regexp.MustCompile(`id="totp-secret" class="secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.body)
		pg = b.expect(b.post("/console/account/2fa/confirm", url.Values{"code": {totpCode(t, secret[1], time.Now())}}, "/console/account/2fa"), 200, "confirm TOTP")
		codes := regexp.MustCompile(`(?s)<pre class="codes" id="recovery-codes">(.*?)</pre>`).FindStringSubmatch(pg.body)
		if codes == nil || !strings.Contains(pg.body, `download="rampart-recovery-codes.txt"`) || !strings.Contains(pg.body, `href="data:text/plain;charset=utf-8,`) {
			t.Fatalf("no recovery codes or download: %s", excerpt(pg.body))
		}
		recovery := strings.Fields(codes[1])
		if len(recovery) != 10 {
			t.Fatalf("%d recovery codes", len(recovery))
		}
		// Shown once: the page now only says 2FA is on.
		if pg := b.get("/console/account/2fa"); strings.Contains(pg.body, recovery[0]) || !strings.Contains(pg.body, "is on") {
			t.Fatal("recovery codes shown again")
		}
		b.expect(b.post("/console/sign-out", nil, "/console/account"), 303, "sign out")

		pg = b.signIn("acme", "auditor@acme.test", pw)
		if pg.status != http.StatusSeeOther || pg.location != "/console/sign-in/2fa" {
			t.Fatalf("password step: %d %q", pg.status, pg.location)
		}
		if pg := b.get("/console/account"); pg.location != "/console/sign-in/2fa" {
			t.Fatalf("half-signed-in session reached the account page: %d %q", pg.status, pg.location)
		}
		b.expect(b.get("/api/v1/me"), 401, "API before the second factor")
		b.expect(b.post("/console/sign-in/2fa", url.Values{"code": {"123456"}}, "/console/sign-in/2fa"), 401, "wrong code")
		pg = b.post("/console/sign-in/2fa", url.Values{"code": {recovery[0]}}, "/console/sign-in/2fa")
		if pg.status != http.StatusSeeOther || pg.location != "/console/account" {
			t.Fatalf("recovery code: %d %q %s", pg.status, pg.location, excerpt(pg.body))
		}
		b.expect(b.get("/console/account"), 200, "signed in with a recovery code")
		b.expect(b.post("/console/account/2fa/disable", url.Values{"code": {totpCode(t, secret[1], time.Now().Add(30*time.Second))}}, "/console/account/2fa"), 303, "disable with a current code")
		if pg := b.get("/console/account/2fa"); !strings.Contains(pg.body, "is off") {
			t.Fatal("2FA still on")
		}
	})

	t.Run("invite, accept with a weak then a good password, reset the password", func(t *testing.T) {
		owner := in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		owner.expect(owner.post("/console/org/members/invite", url.Values{"email": {"new@acme.test"}, "roles": {"member"}}, "/console/org/members"), 303, "invite")
		if !strings.Contains(owner.get("/console/org/members").body, "new@acme.test") {
			t.Fatal("pending invitation not listed")
		}
		token := in.mailLink(t, "new@acme.test", "invite")
		nb := in.browser(t)
		weak := nb.post("/console/invite", url.Values{"token": {token}, "password": {"short"}, "password_confirm": {"short"}}, "/invite")
		if weak.status != 400 || !strings.Contains(weak.body, "<li>") {
			t.Fatalf("weak password: %d %s", weak.status, excerpt(weak.body))
		}
		mismatch := nb.post("/console/invite", url.Values{"token": {token}, "password": {pw}, "password_confirm": {pw + "x"}}, "/invite")
		if mismatch.status != 400 || !strings.Contains(mismatch.body, "do not match") {
			t.Fatalf("mismatch: %d", mismatch.status)
		}
		pg := nb.post("/console/invite", url.Values{"token": {token}, "password": {pw}, "password_confirm": {pw}}, "/invite")
		if pg.status != http.StatusSeeOther || pg.location != "/console/account" {
			t.Fatalf("accept: %d %q %s", pg.status, pg.location, excerpt(pg.body))
		}
		nb.expect(nb.get("/console/account"), 200, "new member signed in")
		used := in.browser(t).post("/console/invite", url.Values{"token": {token}, "password": {pw}, "password_confirm": {pw}}, "/invite")
		if used.status != 400 || !strings.Contains(used.body, "already been used") {
			t.Fatalf("used invitation: %d", used.status)
		}

		// Forgot password: one answer for known and unknown accounts.
		anon := in.browser(t)
		known := anon.expect(anon.post("/console/forgot", url.Values{"organization": {"acme"}, "email": {"new@acme.test"}}, "/console/forgot"), 200, "forgot known")
		unknown := anon.expect(anon.post("/console/forgot", url.Values{"organization": {"acme"}, "email": {"ghost@acme.test"}}, "/console/forgot"), 200, "forgot unknown")
		notice := regexp.MustCompile(`role="status">([^<]*)<`)
		if a, b := notice.FindStringSubmatch(known.body), notice.FindStringSubmatch(unknown.body); a == nil || b == nil || a[1] != b[1] {
			t.Fatal("forgot-password answers differ")
		}
		reset := in.mailLink(t, "new@acme.test", "reset")
		const newPW = "purple monkey dishwasher 9"
		pg = anon.post("/console/reset", url.Values{"token": {reset}, "password": {newPW}, "password_confirm": {newPW}}, "/reset")
		if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.location, "/console/sign-in") {
			t.Fatalf("reset: %d %q %s", pg.status, pg.location, excerpt(pg.body))
		}
		if p := anon.signIn("acme", "new@acme.test", newPW); p.location != "/console/account" {
			t.Fatalf("sign in with the new password: %d %q", p.status, p.location)
		}
	})

	t.Run("custom role, assignment, audit viewer, export and chain verification", func(t *testing.T) {
		owner := in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		pg := owner.expect(owner.get("/console/org/roles"), 200, "roles")
		for _, p := range []string{"records.read", "audit.read", "org.delete"} {
			if !strings.Contains(pg.body, `value="`+p+`"`) {
				t.Fatalf("permission checkbox %s missing", p)
			}
		}
		owner.expect(owner.post("/console/org/roles", url.Values{"name": {"reviewer"}, "permissions": {"audit.read", "members.read"}}, "/console/org/roles"), 303, "create role")
		bad := owner.post("/console/org/roles", url.Values{"name": {"owner"}, "permissions": {"audit.read"}}, "/console/org/roles")
		if bad.status != 400 && bad.status != 409 {
			t.Fatalf("reserved role name: %d", bad.status)
		}
		edit := owner.expect(owner.get("/console/org/roles/reviewer"), 200, "edit role")
		if !regexp.MustCompile(`value="audit.read" checked`).MatchString(edit.body) {
			t.Fatal("edit form does not tick the role's permissions")
		}
		memberID := in.users["member@acme.test"]
		owner.expect(owner.post("/console/org/members/"+memberID+"/roles", url.Values{"roles": {"member", "reviewer"}}, "/console/org/members/"+memberID), 303, "assign role")
		if pg := owner.get("/console/org/members/" + memberID); !strings.Contains(pg.body, "member, reviewer") {
			t.Fatalf("roles not saved: %s", excerpt(pg.body))
		}
		pg = owner.expect(owner.get("/console/org/audit"), 200, "audit")
		for _, a := range []string{"role.create", "member.roles.update"} {
			if !strings.Contains(pg.body, a) {
				t.Fatalf("audit viewer lacks %s", a)
			}
		}
		ownerActor := "user:" + in.users["owner@acme.test"]
		pg = owner.get("/console/org/audit?action=role.&actor=" + url.QueryEscape(ownerActor))
		if !strings.Contains(pg.body, "role.create") || strings.Contains(pg.body, "member.roles.update") {
			t.Fatal("action filter did not narrow the entries")
		}
		future := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		if pg := owner.get("/console/org/audit?since=" + future); !strings.Contains(pg.body, "No entries match") {
			t.Fatal("time filter did not narrow the entries")
		}
		owner.expect(owner.get("/console/org/audit?since=yesterday"), 400, "bad time")
		exp := owner.expect(owner.get("/console/org/audit/export?action=role."), 200, "export")
		if !strings.Contains(exp.header.Get("Content-Disposition"), "attachment") {
			t.Fatal("export is not a download")
		}
		sc := bufio.NewScanner(strings.NewReader(exp.body))
		n := 0
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || !strings.HasPrefix(rec["action"].(string), "role.") {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			n++
		}
		if n == 0 {
			t.Fatal("export is empty")
		}
		pg = owner.expect(owner.post("/console/org/audit/verify", nil, "/console/org/audit"), 200, "verify")
		if !strings.Contains(pg.body, "Chain verified: OK") {
			t.Fatalf("verify: %s", excerpt(pg.body))
		}
		// The member now holds audit.read through the custom role.
		m := in.browser(t)
		m.mustSignIn("acme", "member@acme.test")
		m.expect(m.get("/console/org/audit"), 200, "custom role opens the audit log")
		owner.expect(owner.post("/console/org/roles/reviewer/delete", nil, "/console/org/roles"), 409, "role still assigned")
	})

	t.Run("policy page, require 2FA sends members to enrolment", func(t *testing.T) {
		owner := in.browser(t)
		owner.mustSignIn("globex", "owner@globex.test")
		form := url.Values{"min_length": {"14"}, "max_length": {"128"}, "max_age_days": {"0"}, "reject_common": {"on"}, "reject_email_local_part": {"on"}, "require_mfa": {"on"}}
		owner.expect(owner.post("/console/org/policy", url.Values{"min_length": {"4"}, "max_length": {"128"}, "max_age_days": {"0"}}, "/console/org/policy"), 400, "too weak a policy")
		owner.expect(owner.post("/console/org/policy", form, "/console/org/policy"), 303, "save policy")
		pg := owner.get("/console/org/policy")
		if !strings.Contains(pg.body, `id="min_length" name="min_length" type="number" min="8" max="1024" required value="14"`) || !regexp.MustCompile(`id="require_mfa" name="require_mfa" checked`).MatchString(pg.body) {
			t.Fatalf("policy not shown: %s", excerpt(pg.body))
		}
		m := in.browser(t)
		p := m.signIn("globex", "member@globex.test", pw)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/account/2fa") {
			t.Fatalf("enrol-only sign-in: %d %q", p.status, p.location)
		}
		if p := m.get("/console/account/tokens"); p.location != "/console/account/2fa" {
			t.Fatalf("enrol-only session reached tokens: %d %q", p.status, p.location)
		}
		pg = m.expect(m.get("/console/account/2fa"), 200, "enrol page")
		if !strings.Contains(pg.body, "requires two-factor") {
			t.Fatal("enrol page does not say 2FA is required")
		}
		pg = m.expect(m.post("/console/account/2fa/start", nil, "/console/account/2fa"), 200, "start")
		secret := regexp.MustCompile(`id="totp-secret" class="secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.body)
		m.expect(m.post("/console/account/2fa/confirm", url.Values{"code": {totpCode(t, secret[1], time.Now())}}, "/console/account/2fa"), 200, "confirm")
		m.expect(m.get("/console/account/tokens"), 200, "after enrolment")
	})

	t.Run("sessions page revokes other sessions", func(t *testing.T) {
		a, b := in.browser(t), in.browser(t)
		a.mustSignIn("acme", "auditor@acme.test")
		b.mustSignIn("acme", "auditor@acme.test")
		pg := a.expect(a.get("/console/account/sessions"), 200, "sessions")
		if !strings.Contains(pg.body, "This session") {
			t.Fatal("current session not marked")
		}
		a.expect(a.post("/console/account/sessions/revoke-others", nil, "/console/account/sessions"), 303, "revoke others")
		if p := b.get("/console/account"); p.status != http.StatusSeeOther {
			t.Fatalf("other session survived: %d", p.status)
		}
	})

	t.Run("personal API tokens are shown once and work on the API", func(t *testing.T) {
		b := in.browser(t)
		b.mustSignIn("acme", "owner@acme.test")
		pg := b.expect(b.post("/console/account/tokens", url.Values{"name": {"ci"}, "permissions": {"records.read"}, "expires_days": {"30"}}, "/console/account/tokens"), 201, "create")
		m := regexp.MustCompile(`id="new-token" class="secret">([^<]+)<`).FindStringSubmatch(pg.body)
		if m == nil {
			t.Fatal("token value not shown")
		}
		if strings.Contains(b.get("/console/account/tokens").body, m[1]) {
			t.Fatal("token value shown twice")
		}
		req, _ := http.NewRequest(http.MethodGet, in.base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+m[1])
		api := in.browser(t)
		api.expect(api.do(req), 200, "API with the token")
		id := regexp.MustCompile(`(?s)>ci</td>.*?action="/console/account/tokens/revoke"><input type="hidden" name="csrf_token" value="[^"]+"><input type="hidden" name="id" value="([^"]+)"`).FindStringSubmatch(b.get("/console/account/tokens").body)
		if id == nil {
			t.Fatal("no revoke form")
		}
		b.expect(b.post("/console/account/tokens/revoke", url.Values{"id": {id[1]}}, "/console/account/tokens"), 303, "revoke")
		// Token checks are cached for a second (identity's authcache).
		deadline := time.Now().Add(3 * time.Second)
		for {
			req, _ = http.NewRequest(http.MethodGet, in.base+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+m[1])
			if p := api.do(req); p.status == http.StatusUnauthorized {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("API after revocation: %d", p.status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("bootstrap page claims the instance, then operator pages work", func(t *testing.T) {
		l, err := in.data.Identity.IssueBootstrapLink(context.Background(), "test")
		if err != nil {
			t.Fatal(err)
		}
		token := l.URL[strings.Index(l.URL, "#token=")+len("#token="):]
		b := in.browser(t)
		pg := b.post("/console/bootstrap", url.Values{"token": {token}, "email": {"op@platform.test"}, "password": {pw}, "password_confirm": {pw}}, "/bootstrap")
		if pg.status != http.StatusSeeOther || pg.location != "/console/account" {
			t.Fatalf("bootstrap: %d %q %s", pg.status, pg.location, excerpt(pg.body))
		}
		pg = b.expect(b.get("/console/operator/orgs"), 200, "orgs")
		if !strings.Contains(pg.body, "acme") || !strings.Contains(pg.body, "globex") {
			t.Fatal("orgs list incomplete")
		}
		if !strings.Contains(b.get("/console/account").body, `href="/console/operator/orgs"`) {
			t.Fatal("operator navigation missing")
		}
		const xss = `<script>alert(1)</script>`
		b.expect(b.post("/console/operator/orgs", url.Values{"name": {xss}, "slug": {"initech"}}, "/console/operator/orgs"), 303, "create org")
		pg = b.get("/console/operator/orgs")
		if strings.Contains(pg.body, xss) || !strings.Contains(pg.body, html.EscapeString(xss)) || !strings.Contains(pg.body, "initech") {
			t.Fatal("org name not escaped or org missing")
		}
		b.expect(b.post("/console/operator/orgs", url.Values{"name": {"Dup"}, "slug": {"initech"}}, "/console/operator/orgs"), 409, "taken slug")
		again := in.browser(t).post("/console/bootstrap", url.Values{"token": {token}, "email": {"op2@platform.test"}, "password": {pw}, "password_confirm": {pw}}, "/bootstrap")
		if again.status < 400 {
			t.Fatalf("bootstrap link reused: %d", again.status)
		}
	})

	t.Run("OAuth clients and credentials: metadata and revocation, never values", func(t *testing.T) {
		owner, member := in.browser(t), in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		member.mustSignIn("acme", "member@acme.test")
		member.expect(member.get("/console/org/clients"), 403, "member on clients")
		member.expect(member.get("/console/org/credentials"), 403, "member on credentials")
		owner.expect(owner.get("/console/org/clients"), 200, "clients")
		bad := owner.post("/console/org/clients", url.Values{"name": {"web"}, "grant_types": {"authorization_code"}}, "/console/org/clients")
		if bad.status != 400 || !strings.Contains(bad.body, "redirect") {
			t.Fatalf("client without redirect URI: %d", bad.status)
		}
		pg := owner.expect(owner.post("/console/org/clients", url.Values{"name": {"batch job"}, "grant_types": {"client_credentials"}, "scopes": {"records.read"}}, "/console/org/clients"), 201, "register client")
		secret := regexp.MustCompile(`id="new-client-secret" class="secret">([^<]+)<`).FindStringSubmatch(pg.body)
		if secret == nil {
			t.Fatalf("client secret not shown: %s", excerpt(pg.body))
		}
		list := owner.get("/console/org/clients").body
		if strings.Contains(list, secret[1]) || !strings.Contains(list, "batch job") {
			t.Fatal("client secret shown twice, or client not listed")
		}
		// Another organization's client cannot be revoked from acme.
		hooli, err := in.data.CreateOrganization(context.Background(), "operator:test", "Hooli", "hooli")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.data.Identity.CreateUserAsOperator(context.Background(), "operator:test", hooli.ID,
			identity.NewUser{Email: "owner@hooli.test", Password: pw, Roles: []string{"owner"}}); err != nil {
			t.Fatal(err)
		}
		g := in.browser(t)
		g.mustSignIn("hooli", "owner@hooli.test")
		gp := g.expect(g.post("/console/org/clients", url.Values{"name": {"globex app"}, "grant_types": {"client_credentials"}}, "/console/org/clients"), 201, "hooli client")
		gid := regexp.MustCompile(`id="new-client-id" class="secret">([^<]+)<`).FindStringSubmatch(gp.body)
		owner.expect(owner.post("/console/org/clients/revoke", url.Values{"id": {gid[1]}}, "/console/org/clients"), 404, "foreign client")
		id := regexp.MustCompile(`(?s)batch job</td>.*?name="id" value="([^"]+)"`).FindStringSubmatch(list)
		owner.expect(owner.post("/console/org/clients/revoke", url.Values{"id": {id[1]}}, "/console/org/clients"), 303, "revoke client")
		if !strings.Contains(owner.get("/console/org/clients").body, "revoked") {
			t.Fatal("client not shown as revoked")
		}
	})

	t.Run("credentials page lists metadata and revokes", func(t *testing.T) {
		owner := in.browser(t)
		owner.mustSignIn("acme", "owner@acme.test")
		pg := owner.expect(owner.get("/console/org/credentials"), 200, "credentials")
		if !strings.Contains(pg.body, "No stored credentials") {
			t.Fatal("empty state missing")
		}
		req, _ := http.NewRequest(http.MethodPost, in.base+"/api/v1/secrets", strings.NewReader(`{"name":"smtp relay","type":"password","value":"hunter2-very-secret"}`))
		req.Header.Set("Content-Type", "application/json")
		owner.expect(owner.do(req), 201, "store a credential")
		pg = owner.get("/console/org/credentials")
		if strings.Contains(pg.body, "hunter2-very-secret") || !strings.Contains(pg.body, "smtp relay") {
			t.Fatalf("credential value shown or credential missing: %s", excerpt(pg.body))
		}
		id := regexp.MustCompile(`action="/console/org/credentials/revoke"><input type="hidden" name="csrf_token" value="[^"]+"><input type="hidden" name="id" value="([^"]+)"`).FindStringSubmatch(pg.body)
		owner.expect(owner.post("/console/org/credentials/revoke", url.Values{"id": {id[1]}}, "/console/org/credentials"), 303, "revoke credential")
		if !strings.Contains(owner.get("/console/org/credentials").body, "revoked") {
			t.Fatal("credential not shown as revoked")
		}
	})

	t.Run("no secret reaches the log", func(t *testing.T) {
		if strings.Contains(in.logs.String(), pw) {
			t.Fatal("a password reached the log")
		}
	})
}
