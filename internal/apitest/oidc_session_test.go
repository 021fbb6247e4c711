package apitest

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// TestOIDCSignInReusesTheConsoleSession: a browser already signed in to
// Rampart (console or API session cookie) is offered "Continue as ..." on
// the provider's sign-in page instead of typing the password again; that
// session stays signed in; prompt=login and another organization's
// session get the plain form.
func TestOIDCSignInReusesTheConsoleSession(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			in := startWith(t, d, func(*config.Config) {})
			in.t = t
			ctx := context.Background()
			orgs := seed(t, in)
			app, secret, err := in.data.OIDC.CreateClientAsOperator(ctx, "cli", orgs["acme"].ID,
				oidc.NewClient{Name: "Intranet", RedirectURIs: []string{rpCallback}, FirstParty: true})
			if err != nil {
				t.Fatal(err)
			}
			rpCtx := gooidc.ClientContext(ctx, in.httpClient())
			provider, err := gooidc.NewProvider(rpCtx, in.base+"/")
			if err != nil {
				t.Fatal(err)
			}
			conf := oauth2.Config{ClientID: app.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rpCallback, Scopes: []string{gooidc.ScopeOpenID}}
			verifier := oauth2.GenerateVerifier()

			b := in.browser(t)
			// Sign in to Rampart itself, in the same browser.
			resp, err := b.http.Post(in.base+"/api/v1/auth/login", "application/json",
				strings.NewReader(`{"organization":"acme","email":"member@acme.test","password":"`+pw+`"}`))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("console sign-in: %v %v", resp, err)
			}
			resp.Body.Close()

			_, page := b.get(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)))
			if !strings.Contains(page, "Continue as member@acme.test") {
				t.Fatalf("sign-in page does not offer the signed-in account:\n%s", page)
			}
			id, csrf := hidden(t, page)
			resp, _ = b.post(oidc.PathLogin+"/session", url.Values{"authRequestID": {id}, "csrf": {csrf}})
			cb, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != 302 || err != nil || cb.Query().Get("code") == "" {
				t.Fatalf("continue as: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			tok, err := conf.Exchange(rpCtx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			// The Rampart session is the person's: still signed in.
			resp, body := b.get(in.base + "/api/v1/me")
			var me identity.Me
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &me) != nil {
				t.Fatalf("session after the OAuth sign-in: %d %s", resp.StatusCode, body)
			}
			if sub := jwtClaims(t, tok.AccessToken)["sub"]; sub != me.ID || me.Email != "member@acme.test" {
				t.Fatalf("token for %v, want the signed-in member %s", sub, me.ID)
			}

			// prompt=login asks for the password again.
			_, page = b.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "login")))
			if strings.Contains(page, "Continue as") || !strings.Contains(page, `<label for="password">`) {
				t.Fatalf("prompt=login still offers the session:\n%s", page)
			}
			// A session of another organization is not offered, and cannot be used.
			g := in.browser(t)
			resp, err = g.http.Post(in.base+"/api/v1/auth/login", "application/json",
				strings.NewReader(`{"organization":"globex","email":"owner@globex.test","password":"`+pw+`"}`))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("globex sign-in: %v %v", resp, err)
			}
			resp.Body.Close()
			_, page = g.get(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier)))
			if strings.Contains(page, "Continue as") {
				t.Fatalf("another organization's session is offered:\n%s", page)
			}
			id, csrf = hidden(t, page)
			if resp, _ := g.post(oidc.PathLogin+"/session", url.Values{"authRequestID": {id}, "csrf": {csrf}}); resp.StatusCode != 401 {
				t.Fatalf("continue with another organization's session: %d", resp.StatusCode)
			}
		})
	}
}
