package apitest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pquerna/otp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// upstream is a test service behind the gateway; it counts what reaches it.
type upstream struct {
	srv        *httptest.Server
	hits       atomic.Int64
	lastHeader atomic.Value // http.Header
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.lastHeader.Store(r.Header.Clone())
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "bytes": n})
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (in *instance) httpClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: in.pool}}}
}

const rpCallback = "http://127.0.0.1:1/callback"

var (
	hiddenRE = regexp.MustCompile(`name="(authRequestID|csrf)" value="([^"]+)"`)
)

// browser walks the sign-in pages like a user would.
type browser struct {
	t    *testing.T
	in   *instance
	http *http.Client
}

func (in *instance) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, in: in, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: in.pool}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), rpCallback) {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.http.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.in.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func hidden(t *testing.T, page string) (id, csrf string) {
	t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		if m[1] == "authRequestID" {
			id = m[2]
		} else {
			csrf = m[2]
		}
	}
	if id == "" || csrf == "" {
		t.Fatalf("no form tokens in page:\n%s", page)
	}
	return id, csrf
}

func TestOIDCProviderAndGateway(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { oidcScenarios(t, d) })
	}
}

func oidcScenarios(t *testing.T, d store.Dialect) {
	up := newUpstream(t)
	in := startWith(t, d, func(c *config.Config) {
		c.Gateway.Routes = []string{"/gw/echo/ " + up.srv.URL + " scope=echo.read rate=1000", "/gw/slow/ " + up.srv.URL + " scope=echo.read rate=1"}
	})
	in.t = t
	ctx := context.Background()
	org, err := in.data.CreateOrganization(ctx, "operator:test", "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	user, err := in.data.Identity.CreateUserAsOperator(ctx, "operator:test", org.ID, identity.NewUser{Email: "owner@acme.test", Password: pw, Roles: []string{"owner"}})
	if err != nil {
		t.Fatal(err)
	}
	// TOTP enrolment through the API.
	api := in.client(t)
	api.login("acme", "owner@acme.test", pw)
	enr := api.expect(200, "POST", "/api/v1/me/totp", nil)
	key, err := otp.NewKeyFromURL(enr.body["otpauth_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	api.expect(200, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": totpCode(t, key.Secret(), time.Now())})

	web, webSecret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Partner app", RedirectURIs: []string{rpCallback}})
	if err != nil {
		t.Fatal(err)
	}
	svc, svcSecret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Batch job", Scopes: []string{"echo.read"}})
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Other job", Scopes: []string{"other.read"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(webSecret, "rcs_") {
		t.Fatalf("secret %q", webSecret)
	}

	rpCtx := gooidc.ClientContext(ctx, in.httpClient())
	provider, err := gooidc.NewProvider(rpCtx, in.base+"/")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: web.ID, ClientSecret: webSecret, Endpoint: provider.Endpoint(), RedirectURL: rpCallback,
		Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}

	var tok *oauth2.Token
	t.Run("authorization code with PKCE, TOTP sign-in and consent", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		b := in.browser(t)
		resp, page := b.get(conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-456")))
		if resp.StatusCode != 200 || !strings.Contains(page, `<label for="password">`) {
			t.Fatalf("login page: %d %s", resp.StatusCode, page)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("perimeter headers missing on the login page: %q", csp)
		}
		id, csrf := hidden(t, page)
		// A wrong password: the uniform answer, on the form.
		resp, page = b.post(oidc.PathLogin, url.Values{"authRequestID": {id}, "csrf": {csrf}, "organization": {"acme"}, "email": {"owner@acme.test"}, "password": {"nope"}})
		if resp.StatusCode != 401 || !strings.Contains(page, "invalid organization, email or password") {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, page)
		}
		// A forged form without the CSRF token.
		if resp, _ := b.post(oidc.PathLogin, url.Values{"authRequestID": {id}, "csrf": {"x"}, "organization": {"acme"}, "email": {"owner@acme.test"}, "password": {pw}}); resp.StatusCode != 403 {
			t.Fatalf("missing csrf token: %d", resp.StatusCode)
		}
		resp, page = b.post(oidc.PathLogin, url.Values{"authRequestID": {id}, "csrf": {csrf}, "organization": {"acme"}, "email": {"owner@acme.test"}, "password": {pw}})
		if resp.StatusCode != 200 || !strings.Contains(page, `name="code"`) {
			t.Fatalf("after password: %d %s", resp.StatusCode, page)
		}
		resp, page = b.post(oidc.PathLoginMFA, url.Values{"authRequestID": {id}, "csrf": {csrf}, "code": {totpCode(t, key.Secret(), time.Now().Add(30*time.Second))}})
		if resp.StatusCode != 200 || !strings.Contains(page, "Allow access?") || !strings.Contains(page, "offline_access") {
			t.Fatalf("after TOTP: %d %s", resp.StatusCode, page)
		}
		// Another browser cannot pick up the code with the request id.
		if resp, _ := in.browser(t).get(in.base + oidc.PathAuthorize + "/callback?id=" + id); resp.StatusCode != 403 {
			t.Fatalf("callback from another browser: %d", resp.StatusCode)
		}
		resp, _ = b.post(oidc.PathConsent, url.Values{"authRequestID": {id}, "csrf": {csrf}, "decision": {"allow"}})
		if resp.StatusCode != 302 {
			t.Fatalf("consent: %d", resp.StatusCode)
		}
		cb, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || cb.Query().Get("state") != "state-123" || cb.Query().Get("code") == "" {
			t.Fatalf("callback %q", resp.Header.Get("Location"))
		}
		code := cb.Query().Get("code")
		tok, err = conf.Exchange(rpCtx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: web.ID}).Verify(rpCtx, rawID)
		if err != nil {
			t.Fatal(err)
		}
		if idt.Subject != user.ID || idt.Nonce != "nonce-456" || tok.RefreshToken == "" {
			t.Fatalf("id token sub %q nonce %q refresh %q", idt.Subject, idt.Nonce, tok.RefreshToken)
		}
		// The code works once.
		if _, err := conf.Exchange(rpCtx, code, oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("code reuse: %v", err)
		}
		ui, err := provider.UserInfo(rpCtx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Email != "owner@acme.test" || ui.Subject != user.ID {
			t.Fatalf("userinfo %+v %v", ui, err)
		}
		claims := jwtClaims(t, tok.AccessToken)
		if claims["org"] != org.ID || claims["sub"] != user.ID || !strings.Contains(claims["scope"].(string), "email") || claims["jti"] == "" {
			t.Fatalf("access token claims %v", claims)
		}
		if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "owner" {
			t.Fatalf("roles claim %v", claims["roles"])
		}
		// A second sign-in skips the consent already given.
		b2 := in.browser(t)
		_, page = b2.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
		id2, csrf2 := hidden(t, page)
		b2.post(oidc.PathLogin, url.Values{"authRequestID": {id2}, "csrf": {csrf2}, "organization": {"acme"}, "email": {"owner@acme.test"}, "password": {pw}})
		resp, _ = b2.post(oidc.PathLoginMFA, url.Values{"authRequestID": {id2}, "csrf": {csrf2}, "code": {"000000"}})
		if resp.StatusCode != 401 {
			t.Fatalf("wrong TOTP code: %d", resp.StatusCode)
		}
	})
	if tok == nil {
		t.FailNow()
	}

	introspect := func(t *testing.T, token string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", in.base+oidc.PathIntrospect, strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(web.ID, webSecret)
		resp, err := in.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("introspect: %d %v", resp.StatusCode, out)
		}
		return out
	}

	t.Run("introspection needs client authentication and reports the token", func(t *testing.T) {
		got := introspect(t, tok.AccessToken)
		if got["active"] != true || got["sub"] != user.ID || got["client_id"] != web.ID || got["org"] != org.ID {
			t.Fatalf("introspection %v", got)
		}
		resp, err := in.httpClient().PostForm(in.base+oidc.PathIntrospect, url.Values{"token": {tok.AccessToken}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("unauthenticated introspection: %d", resp.StatusCode)
		}
		if got := introspect(t, "not.a.jwt"); got["active"] != false {
			t.Fatalf("garbage introspected as %v", got)
		}
	})

	t.Run("refresh tokens rotate and reuse revokes the family", func(t *testing.T) {
		first := tok.RefreshToken
		t1, err := conf.TokenSource(rpCtx, &oauth2.Token{RefreshToken: first}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if t1.RefreshToken == "" || t1.RefreshToken == first {
			t.Fatalf("refresh token not rotated")
		}
		if _, err := conf.TokenSource(rpCtx, &oauth2.Token{RefreshToken: first}).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("reuse of a rotated token: %v", err)
		}
		// The whole family is gone: the newest refresh token and its
		// access token too.
		if _, err := conf.TokenSource(rpCtx, &oauth2.Token{RefreshToken: t1.RefreshToken}).Token(); err == nil {
			t.Fatal("the family survived a reuse")
		}
		if got := introspect(t, t1.AccessToken); got["active"] != false {
			t.Fatalf("access token of a revoked family: %v", got)
		}
		var n int
		_ = in.data.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE action = 'oauth.refresh_reuse' AND org_id = ?", org.ID).Scan(&n)
		})
		if n == 0 {
			t.Fatal("no oauth.refresh_reuse audit entry")
		}
	})

	ccToken := func(t testing.TB, id, secret string, scopes ...string) string {
		t.Helper()
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: in.base + oidc.PathToken, Scopes: scopes}
		tk, err := cc.Token(rpCtx)
		if err != nil {
			t.Fatal(err)
		}
		return tk.AccessToken
	}
	gw := func(t *testing.T, token, path string, body io.Reader) *http.Response {
		t.Helper()
		method := "GET"
		if body != nil {
			method = "POST"
		}
		req, _ := http.NewRequest(method, in.base+path, body)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("X-Rampart-Identity", "forged")
		req.Header.Set("Cookie", "rampart_session=stolen")
		resp, err := in.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	t.Run("client credentials reach the upstream through the gateway with a signed identity", func(t *testing.T) {
		token := ccToken(t, svc.ID, svcSecret, "echo.read")
		before := up.hits.Load()
		resp := gw(t, token, "/gw/echo/hello", bytes.NewReader(bytes.Repeat([]byte("x"), 3<<20)))
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 || out["path"] != "/hello" || out["bytes"] != float64(3<<20) || up.hits.Load() != before+1 {
			t.Fatalf("gateway: %d %v", resp.StatusCode, out)
		}
		h := up.lastHeader.Load().(http.Header)
		if h.Get("Authorization") != "" || h.Get("Cookie") != "" {
			t.Fatalf("credentials reached the upstream: %v", h)
		}
		// The upstream verifies the assertion against the published keys.
		var set jose.JSONWebKeySet
		r, err := in.httpClient().Get(in.base + oidc.PathGatewayKeys)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&set)
		r.Body.Close()
		parsed, err := jwt.ParseSigned(h.Get("X-Rampart-Identity"), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("assertion %q: %v", h.Get("X-Rampart-Identity"), err)
		}
		var std jwt.Claims
		var priv struct {
			Org      string `json:"org"`
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
		}
		if err := parsed.Claims(set, &std, &priv); err != nil {
			t.Fatal(err)
		}
		if err := std.Validate(jwt.Expected{Issuer: in.base + "/", AnyAudience: jwt.Audience{"/gw/echo/"}, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if std.Subject != svc.ID || priv.Org != org.ID || priv.ClientID != svc.ID || priv.Scope != "echo.read" {
			t.Fatalf("assertion claims %+v %+v", std, priv)
		}
	})

	t.Run("the gateway refuses bad tokens before the upstream", func(t *testing.T) {
		foreignKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		forged := signWith(t, foreignKey, jwtClaims(t, ccToken(t, svc.ID, svcSecret)))
		revoked, revokedSecret, _ := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Revoked job", Scopes: []string{"echo.read"}})
		revokedToken := ccToken(t, revoked.ID, revokedSecret)
		if err := in.data.OIDC.RevokeClientAsOperator(ctx, "cli", revoked.ID); err != nil {
			t.Fatal(err)
		}
		revokedJTI := ccToken(t, svc.ID, svcSecret)
		rv, _ := http.NewRequest("POST", in.base+oidc.PathRevoke, strings.NewReader(url.Values{"token": {revokedJTI}, "token_type_hint": {"access_token"}}.Encode()))
		rv.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rv.SetBasicAuth(svc.ID, svcSecret)
		if resp, err := in.httpClient().Do(rv); err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", resp, err)
		}
		before := up.hits.Load()
		for _, c := range []struct {
			name, token string
			status      int
		}{
			{"no token", "", 401},
			{"a malformed token", "abc.def.ghi", 401},
			{"a token signed by another key", forged, 401},
			{"a token of a revoked client", revokedToken, 401},
			{"a revoked token", revokedJTI, 401},
			{"a token without the scope", ccToken(t, other.ID, otherSecret), 403},
			{"an ID token instead of an access token", tok.Extra("id_token").(string), 401},
		} {
			resp := gw(t, c.token, "/gw/echo/x", nil)
			if resp.StatusCode != c.status {
				t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
			}
			if c.status == 403 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("%s: WWW-Authenticate %q", c.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
		if n := up.hits.Load() - before; n != 0 {
			t.Fatalf("%d refused calls reached the upstream", n)
		}
		// Rate limit: one call per second on /gw/slow/.
		token := ccToken(t, svc.ID, svcSecret)
		if resp := gw(t, token, "/gw/slow/a", nil); resp.StatusCode != 200 {
			t.Fatalf("first slow call: %d", resp.StatusCode)
		}
		if resp := gw(t, token, "/gw/slow/b", nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("second slow call: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})

	t.Run("bad protocol input gets OAuth errors, never a 500", func(t *testing.T) {
		hc := in.httpClient()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		post := func(form url.Values, user, pass string) (int, map[string]any) {
			req, _ := http.NewRequest("POST", in.base+oidc.PathToken, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		for _, c := range []struct {
			name       string
			form       url.Values
			user, pass string
			status     int
			code       string
		}{
			{"an unsupported grant type", url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}, web.ID, webSecret, 400, "unsupported_grant_type"},
			{"a wrong client secret", url.Values{"grant_type": {"client_credentials"}}, svc.ID, "rcs_wrong", 401, "invalid_client"},
			{"an unknown client", url.Values{"grant_type": {"client_credentials"}}, "00000000-0000-0000-0000-000000000000", "x", 401, "invalid_client"},
			{"a scope the client may not have", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, svc.ID, svcSecret, 400, "invalid_scope"},
			{"a garbage refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}}, web.ID, webSecret, 400, "invalid_grant"},
			{"a garbage code", url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("A", 300)}, "redirect_uri": {rpCallback}}, web.ID, webSecret, 400, "invalid_grant"},
			{"client credentials for a client without that grant", url.Values{"grant_type": {"client_credentials"}}, web.ID, webSecret, 400, "unauthorized_client"},
		} {
			status, out := post(c.form, c.user, c.pass)
			if status != c.status || out["error"] != c.code {
				t.Errorf("%s: %d %v, want %d %s", c.name, status, out, c.status, c.code)
			}
		}
		// An oversized request body is refused by the perimeter's limit
		// and answered as a bad request, not a server error.
		big := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a", 200<<10)}}
		if status, out := post(big, svc.ID, svcSecret); status >= 500 || status < 400 {
			t.Errorf("an oversized body: %d %v", status, out)
		}
		authorize := func(q url.Values) *http.Response {
			resp, err := hc.Get(in.base + oidc.PathAuthorize + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		base := func() url.Values {
			return url.Values{"client_id": {web.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {rpCallback},
				"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		}
		q := base()
		q.Set("redirect_uri", "https://evil.example/cb")
		if resp := authorize(q); resp.StatusCode != 400 {
			t.Errorf("a wrong redirect URI: %d %s (must not redirect)", resp.StatusCode, resp.Header.Get("Location"))
		}
		q = base()
		q.Set("state", strings.Repeat("s", 4000))
		if resp := authorize(q); resp.StatusCode >= 500 || (resp.StatusCode == 302 && !strings.Contains(resp.Header.Get("Location"), "error=invalid_request")) {
			t.Errorf("an oversized state: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		q = base()
		q.Set("code_challenge_method", "plain")
		if resp := authorize(q); resp.StatusCode >= 500 || !strings.Contains(resp.Header.Get("Location"), "error=invalid_request") {
			t.Errorf("a plain PKCE method: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		q = base()
		q.Set("client_id", "not-a-client")
		if resp := authorize(q); resp.StatusCode != 400 {
			t.Errorf("an unknown client: %d", resp.StatusCode)
		}
		if resp := authorize(url.Values{}); resp.StatusCode != 400 {
			t.Errorf("no parameters: %d", resp.StatusCode)
		}
		// Userinfo with a malformed bearer token.
		req, _ := http.NewRequest("GET", in.base+oidc.PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer a.b.c")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode < 400 {
			t.Errorf("userinfo with a malformed token: %d", resp.StatusCode)
		}
	})

	t.Run("dynamic client registration with an initial access token", func(t *testing.T) {
		rt := api.expect(201, "POST", "/api/v1/clients/registration-tokens", map[string]any{"expires_in_seconds": 600, "scopes": []string{"echo.read"}})
		iat, _ := rt.body["token"].(string)
		register := func(token string, meta map[string]any) (int, map[string]any) {
			b, _ := json.Marshal(meta)
			req, _ := http.NewRequest("POST", in.base+oidc.PathRegister, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := in.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		if st, out := register(iat, map[string]any{"client_name": "Dyn", "grant_types": []string{"client_credentials"}, "scope": "echo.read admin"}); st != 400 || out["error"] != "invalid_client_metadata" {
			t.Fatalf("a scope beyond the token: %d %v", st, out)
		}
		if st, out := register(iat, map[string]any{"client_name": "Dyn", "redirect_uris": []string{"http://evil.example/cb"}}); st != 400 || out["error"] != "invalid_redirect_uri" {
			t.Fatalf("a bad redirect URI: %d %v", st, out)
		}
		st, out := register(iat, map[string]any{"client_name": "Dyn", "grant_types": []string{"client_credentials"}, "scope": "echo.read"})
		if st != 201 || out["client_id"] == "" || !strings.HasPrefix(out["client_secret"].(string), "rcs_") {
			t.Fatalf("register: %d %v", st, out)
		}
		token := ccToken(t, out["client_id"].(string), out["client_secret"].(string), "echo.read")
		if resp := gw(t, token, "/gw/echo/dyn", nil); resp.StatusCode != 200 {
			t.Fatalf("registered client through the gateway: %d", resp.StatusCode)
		}
		if st, out := register(iat, map[string]any{"client_name": "Again"}); st != 401 || out["error"] != "invalid_token" {
			t.Fatalf("a used token: %d %v", st, out)
		}
		if st, _ := register("", map[string]any{"client_name": "Anon"}); st != 401 {
			t.Fatalf("no token: %d", st)
		}
		member := in.client(t)
		if _, err := in.data.Identity.CreateUserAsOperator(ctx, "operator:test", org.ID, identity.NewUser{Email: "member@acme.test", Password: pw, Roles: []string{"member"}}); err != nil {
			t.Fatal(err)
		}
		member.login("acme", "member@acme.test", pw)
		member.expect(403, "POST", "/api/v1/clients/registration-tokens", map[string]any{"expires_in_seconds": 600})
	})

	t.Run("no secret or token in the audit log or the logs", func(t *testing.T) {
		var details []string
		_ = in.data.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			rows, err := tx.Query(ctx, "SELECT details FROM audit_events")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				details = append(details, s)
			}
			return nil
		})
		all := strings.Join(details, "\n") + in.logs.String()
		for _, secret := range []string{webSecret, svcSecret, tok.RefreshToken, tok.AccessToken} {
			if strings.Contains(all, secret) {
				t.Fatalf("a secret or token leaked into the audit log or logs")
			}
		}
	})
}

func TestSigningKeyRotation(t *testing.T) {
	up := newUpstream(t)
	in := startWith(t, store.SQLite, func(c *config.Config) {
		c.OIDC.AccessTokenTTL = 3 * time.Second
		c.Gateway.Routes = []string{"/gw/echo/ " + up.srv.URL + " scope=echo.read"}
	})
	in.t = t
	ctx := context.Background()
	org, err := in.data.CreateOrganization(ctx, "operator:test", "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	svc, secret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", org.ID, oidc.NewClient{Name: "Batch", Scopes: []string{"echo.read"}})
	if err != nil {
		t.Fatal(err)
	}
	rpCtx := gooidc.ClientContext(ctx, in.httpClient())
	cc := clientcredentials.Config{ClientID: svc.ID, ClientSecret: secret, TokenURL: in.base + oidc.PathToken}
	call := func(token string) int {
		req, _ := http.NewRequest("GET", in.base+"/gw/echo/x", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := in.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	old, err := cc.Token(rpCtx)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.data.OIDC.RotateSigningKeys(ctx, "cli"); err != nil {
		t.Fatal(err)
	}
	fresh, err := cc.Token(rpCtx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, old.AccessToken) == kidOf(t, fresh.AccessToken) {
		t.Fatal("a token after rotation is signed by the old key")
	}
	if a, b := call(old.AccessToken), call(fresh.AccessToken); a != 200 || b != 200 {
		t.Fatalf("old %d, new %d", a, b)
	}
	var set jose.JSONWebKeySet
	r, err := in.httpClient().Get(in.base + oidc.PathKeys)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&set)
	r.Body.Close()
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want the old and the new", len(set.Keys))
	}
	time.Sleep(time.Until(old.Expiry) + 1500*time.Millisecond)
	if got := call(old.AccessToken); got != 401 {
		t.Fatalf("expired token: %d", got)
	}
}

func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	p, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return p.Headers[0].KeyID
}

func signWith(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
