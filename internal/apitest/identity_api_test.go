package apitest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	otp "github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

const pw = "correct horse battery staple"

// seed creates two organizations with an owner and a member each.
func seed(t *testing.T, in *instance) map[string]app.Organization {
	t.Helper()
	ctx := context.Background()
	orgs := map[string]app.Organization{}
	for _, slug := range []string{"acme", "globex"} {
		o, err := in.data.CreateOrganization(ctx, "operator:test", slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		orgs[slug] = o
		for _, u := range []struct{ email, role string }{{"owner@" + slug + ".test", "owner"}, {"member@" + slug + ".test", "member"}, {"staff@" + slug + ".test", "member"}} {
			if _, err := in.data.Identity.CreateUserAsOperator(ctx, "operator:test", o.ID, identity.NewUser{Email: u.email, Password: pw, Roles: []string{u.role}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return orgs
}

func (c *client) login(org, email, password string) response {
	c.t.Helper()
	return c.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"organization": org, "email": email, "password": password})
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIdentityAPI(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { identityScenarios(t, d) })
	}
}

func identityScenarios(t *testing.T, d store.Dialect) {
	in := start(t, d)
	seed(t, in)

	t.Run("wrong password, unknown account and unknown organization answer alike", func(t *testing.T) {
		c := in.client(t)
		a := c.login("acme", "owner@acme.test", "not the password!!")
		b := c.login("acme", "nobody@acme.test", pw)
		e := c.login("nowhere", "owner@acme.test", pw)
		for _, r := range []response{a, b, e} {
			if r.status != 401 || r.errCode() != "unauthorized" || r.errMessage() != a.errMessage() {
				t.Fatalf("failure answers differ: %d %s", r.status, r.raw)
			}
		}
		c.expect(401, "GET", "/api/v1/me", nil)
	})

	t.Run("login, me, logout", func(t *testing.T) {
		c := in.client(t)
		r := c.login("acme", "owner@acme.test", pw)
		if r.status != 200 || r.body["mfa_required"] != false {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		me := c.expect(200, "GET", "/api/v1/me", nil)
		if me.body["email"] != "owner@acme.test" || me.body["organization"] != "acme" || !contains(me.body["roles"], "owner") || !contains(me.body["permissions"], "org.delete") {
			t.Fatalf("me: %s", me.raw)
		}
		c.expect(204, "POST", "/api/v1/auth/logout", nil)
		c.expect(401, "GET", "/api/v1/me", nil)
	})

	t.Run("cross-site browser requests are refused before anything runs", func(t *testing.T) {
		c := in.client(t)
		login := `{"organization":"acme","email":"owner@acme.test","password":"` + pw + `"}`
		if r := c.doWith("POST", "/api/v1/auth/login", login, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 403 {
			t.Fatalf("login CSRF: %d %s", r.status, r.raw)
		}
		c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": pw})
		token := `{"name":"x","permissions":["members.read"],"expires_in_seconds":60}`
		if r := c.doWith("POST", "/api/v1/me/tokens", token, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 403 {
			t.Fatalf("cookie request from another site: %d %s", r.status, r.raw)
		}
		if r := c.doWith("POST", "/api/v1/me/tokens", token, map[string]string{"Sec-Fetch-Site": "same-origin"}); r.status != 201 {
			t.Fatalf("same-origin request: %d %s", r.status, r.raw)
		}
	})

	t.Run("bad input is a clear 400", func(t *testing.T) {
		c := in.client(t)
		r := c.do("POST", "/api/v1/auth/login", map[string]any{"organization": "acme", "email": "x", "password": "y", "extra": 1})
		if r.status != 400 || !strings.Contains(r.errMessage(), `unknown field "extra"`) {
			t.Fatalf("unknown field: %d %s", r.status, r.raw)
		}
	})

	t.Run("lockout after repeated failures, with Retry-After", func(t *testing.T) {
		c := in.client(t)
		var last response
		for range 7 {
			last = c.login("globex", "member@globex.test", "wrong wrong wrong")
		}
		if last.status != 429 || last.header.Get("Retry-After") == "" {
			t.Fatalf("after 7 failures: %d %s", last.status, last.raw)
		}
		if r := c.login("globex", "member@globex.test", pw); r.status != 429 {
			t.Fatalf("right password during lockout: %d", r.status)
		}
	})

	t.Run("password change enforces the policy, listing every failed rule", func(t *testing.T) {
		c := in.client(t)
		c.login("acme", "member@acme.test", pw)
		r := c.do("POST", "/api/v1/me/password", map[string]string{"current_password": pw, "new_password": "member"})
		if r.status != 400 || r.errCode() != "password_policy" {
			t.Fatalf("weak new password: %d %s", r.status, r.raw)
		}
		details, _ := r.body["error"].(map[string]any)["details"].(map[string]any)
		v, _ := details["violations"].([]any)
		rules := map[string]bool{}
		for _, x := range v {
			rules[x.(map[string]any)["rule"].(string)] = true
		}
		if !rules["min_length"] || !rules["email"] {
			t.Fatalf("violations %v, want min_length and email", rules)
		}
		c.expect(401, "POST", "/api/v1/me/password", map[string]string{"current_password": "wrong", "new_password": "a much better passphrase 42"})
	})

	t.Run("TOTP enrolment, second factor, replay and recovery codes", func(t *testing.T) {
		c := in.client(t)
		c.login("globex", "owner@globex.test", pw)
		enr := c.expect(200, "POST", "/api/v1/me/totp", nil)
		uri, _ := enr.body["otpauth_uri"].(string)
		if !strings.HasPrefix(uri, "otpauth://totp/") || enr.body["qr_png_base64"] == "" {
			t.Fatalf("enrolment: %s", enr.raw)
		}
		key, err := otp.NewKeyFromURL(uri)
		if err != nil {
			t.Fatal(err)
		}
		c.expect(401, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": "000000"})
		conf := c.expect(200, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": totpCode(t, key.Secret(), time.Now())})
		codes, _ := conf.body["recovery_codes"].([]any)
		if len(codes) != 10 {
			t.Fatalf("recovery codes: %s", conf.raw)
		}
		c.expect(204, "POST", "/api/v1/auth/logout", nil)

		r := c.login("globex", "owner@globex.test", pw)
		if r.body["mfa_required"] != true {
			t.Fatalf("login after enrolment: %s", r.raw)
		}
		c.expect(401, "GET", "/api/v1/me", nil) // second factor pending
		// The code of the next step is valid now (±1 step) and unused.
		code := totpCode(t, key.Secret(), time.Now().Add(30*time.Second))
		c.expect(200, "POST", "/api/v1/auth/mfa", map[string]string{"code": code})
		c.expect(200, "GET", "/api/v1/me", nil)
		c.expect(204, "POST", "/api/v1/auth/logout", nil)

		c.login("globex", "owner@globex.test", pw)
		if r := c.do("POST", "/api/v1/auth/mfa", map[string]string{"code": code}); r.status != 401 {
			t.Fatalf("replayed code: %d %s", r.status, r.raw)
		}
		c.expect(200, "POST", "/api/v1/auth/mfa", map[string]string{"code": codes[0].(string)})
		c.expect(204, "POST", "/api/v1/auth/logout", nil)
		c.login("globex", "owner@globex.test", pw)
		c.expect(401, "POST", "/api/v1/auth/mfa", map[string]string{"code": codes[0].(string)})
	})

	t.Run("API token narrows permissions and is revocable", func(t *testing.T) {
		c := in.client(t)
		c.login("acme", "owner@acme.test", pw)
		tok := c.expect(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "ci", "permissions": []string{"members.read"}, "expires_in_seconds": 3600})
		api := in.client(t)
		api.bearer = tok.body["token"].(string)
		me := api.expect(200, "GET", "/api/v1/me", nil)
		if !contains(me.body["permissions"], "members.read") || contains(me.body["permissions"], "audit.read") {
			t.Fatalf("token permissions: %s", me.raw)
		}
		api.expect(200, "GET", "/api/v1/members", nil)
		api.expect(403, "GET", "/api/v1/audit", nil)
		c.expect(204, "DELETE", "/api/v1/me/tokens/"+tok.body["id"].(string), nil)
		api.expect(401, "GET", "/api/v1/me", nil)
	})

	t.Run("role changes take effect on the next request", func(t *testing.T) {
		owner, member := in.client(t), in.client(t)
		owner.login("acme", "owner@acme.test", pw)
		member.login("acme", "member@acme.test", pw)
		member.expect(403, "GET", "/api/v1/audit", nil)
		ms := owner.expect(200, "GET", "/api/v1/members", nil)
		var memberID string
		for _, x := range ms.body["items"].([]any) {
			if m := x.(map[string]any); m["email"] == "member@acme.test" {
				memberID = m["id"].(string)
			}
		}
		owner.expect(200, "PUT", "/api/v1/members/"+memberID+"/roles", map[string]any{"roles": []string{"auditor"}})
		page := member.expect(200, "GET", "/api/v1/audit?action=member.roles.update", nil)
		if items, _ := page.body["items"].([]any); len(items) == 0 {
			t.Fatalf("audit entry for the role change missing: %s", page.raw)
		}
		member.expect(403, "PUT", "/api/v1/members/"+memberID+"/roles", map[string]any{"roles": []string{"owner"}})
		owner.expect(200, "PUT", "/api/v1/members/"+memberID+"/roles", map[string]any{"roles": []string{"member"}})
		member.expect(403, "GET", "/api/v1/audit", nil)
	})

	t.Run("custom roles: no escalation, collection limits, removal", func(t *testing.T) {
		owner := in.client(t)
		owner.login("acme", "owner@acme.test", pw)
		role := owner.expect(200, "PUT", "/api/v1/roles/support", map[string]any{"permissions": []string{"members.read", "audit.read"}})
		if role.body["name"] != "support" || role.body["builtin"] != false {
			t.Fatalf("role: %s", role.raw)
		}
		r := owner.do("PUT", "/api/v1/roles/bad", map[string]any{"permissions": []string{"no.such"}})
		if r.status != 400 || !strings.Contains(r.errMessage(), "no.such") {
			t.Fatalf("unknown permission: %d %s", r.status, r.raw)
		}
		ms := owner.expect(200, "GET", "/api/v1/members", nil)
		var staffID string
		for _, x := range ms.body["items"].([]any) {
			if m := x.(map[string]any); m["email"] == "staff@acme.test" {
				staffID = m["id"].(string)
			}
		}
		owner.expect(200, "PUT", "/api/v1/members/"+staffID+"/roles", map[string]any{"roles": []string{"admin"}})
		admin := in.client(t)
		admin.login("acme", "staff@acme.test", pw)
		// An admin cannot mint a role with powers it lacks.
		admin.expect(403, "PUT", "/api/v1/roles/keymaster", map[string]any{"permissions": []string{"keys.manage"}})
		admin.expect(200, "PUT", "/api/v1/members/"+staffID+"/roles", map[string]any{"roles": []string{"support"}})
		staff := in.client(t)
		staff.login("acme", "staff@acme.test", pw)
		staff.expect(200, "GET", "/api/v1/audit", nil)
		staff.expect(403, "PUT", "/api/v1/policy/password", map[string]any{"min_length": 12, "max_length": 128})
		list := owner.expect(200, "GET", "/api/v1/roles", nil)
		if !strings.Contains(list.raw, `"support"`) || !strings.Contains(list.raw, `"owner"`) {
			t.Fatalf("roles list: %s", list.raw)
		}
		owner.expect(409, "DELETE", "/api/v1/roles/support", nil)
		owner.expect(204, "DELETE", "/api/v1/members/"+staffID, nil)
		staff.expect(401, "GET", "/api/v1/me", nil)
		owner.expect(204, "DELETE", "/api/v1/roles/support", nil)
		owner.expect(404, "DELETE", "/api/v1/roles/support", nil)
	})

	t.Run("the last owner cannot be demoted", func(t *testing.T) {
		owner := in.client(t)
		owner.login("acme", "owner@acme.test", pw)
		me := owner.expect(200, "GET", "/api/v1/me", nil)
		r := owner.do("PUT", "/api/v1/members/"+me.body["id"].(string)+"/roles", map[string]any{"roles": []string{"member"}})
		if r.status != 409 {
			t.Fatalf("last owner demoted: %d %s", r.status, r.raw)
		}
	})

	t.Run("another organization's members and sessions are not found", func(t *testing.T) {
		a, b := in.client(t), in.client(t)
		a.login("acme", "owner@acme.test", pw)
		b.login("globex", "staff@globex.test", pw)
		bs := b.expect(200, "GET", "/api/v1/sessions", nil)
		bSession := bs.body["items"].([]any)[0].(map[string]any)["id"].(string)
		bMe := b.expect(200, "GET", "/api/v1/me", nil)
		a.expect(404, "DELETE", "/api/v1/sessions/"+bSession, nil)
		a.expect(404, "PUT", "/api/v1/members/"+bMe.body["id"].(string)+"/roles", map[string]any{"roles": []string{"member"}})
		a.expect(404, "GET", "/api/v1/sessions?user="+bMe.body["id"].(string), nil)
		if r := a.expect(200, "GET", "/api/v1/members", nil); strings.Contains(r.raw, "globex") {
			t.Fatalf("acme sees globex members: %s", r.raw)
		}
		b.expect(200, "GET", "/api/v1/me", nil) // untouched
	})

	t.Run("no password or token reaches the log", func(t *testing.T) {
		logs := in.logs.String()
		for _, secret := range []string{pw, "rps_", "rpt_"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("log contains %q", secret)
			}
		}
	})
}
