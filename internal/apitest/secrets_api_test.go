package apitest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// The credential vault over HTTPS, on both databases. Every exchange is
// checked against the OpenAPI document, and at the end every answer (but
// the reveals), the log, the audit table, every table and (on SQLite) the
// data directory's files are searched for every value stored.

func TestSecretsAPI(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { secretsAPI(t, d) })
	}
}

// vaultValue returns a credential unique to this run.
func vaultValue(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func secretsAPI(t *testing.T, d store.Dialect) {
	in := start(t, d)
	seed(t, in)
	doc := oaFetchDoc(t, in)
	values := grepSecrets{}
	var answers []string // every answer that must not hold a value
	call := func(c oaClient, want int, method, target string, body any) response {
		t.Helper()
		r := c.call(want, method, target, body)
		answers = append(answers, r.raw)
		return r
	}
	signIn := func(org, email string) oaClient {
		c := oaClient{in.client(t), doc}
		call(c, 200, "POST", "/api/v1/auth/login", map[string]string{"organization": org, "email": email, "password": pw})
		return c
	}
	owner, member, other := signIn("acme", "owner@acme.test"), signIn("acme", "member@acme.test"), signIn("globex", "owner@globex.test")
	// The token is shown once, by design, in this answer only.
	tok := owner.call(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "integration", "permissions": []string{"secrets.use", "secrets.manage"}, "expires_in_seconds": 3600})
	service := oaClient{in.client(t), doc}
	service.bearer = tok.body["token"].(string)
	values.addToken(t, "API token", service.bearer)

	pwValue, keyValue, accessValue, refreshValue, rotated := vaultValue("pw-"), vaultValue("sk_live_"), vaultValue("ya29."), vaultValue("1//"), vaultValue("pw2-")
	values.add(t, "password value", pwValue)
	values.add(t, "API key value", keyValue)
	values.add(t, "access token", accessValue)
	values.add(t, "refresh token", refreshValue)
	values.add(t, "rotated password", rotated)

	t.Run("only secrets.manage creates and lists, and answers are metadata only", func(t *testing.T) {
		call(member, 403, "POST", "/api/v1/secrets", map[string]any{"name": "m", "type": "password", "value": pwValue})
		call(member, 403, "GET", "/api/v1/secrets", nil)
	})
	created := call(owner, 201, "POST", "/api/v1/secrets", map[string]any{"name": "erp admin", "type": "password", "value": pwValue,
		"metadata": map[string]any{"description": "ERP login", "username": "admin", "url": "https://erp.example.com"}})
	id := created.body["id"].(string)
	if _, has := created.body["value"]; has || created.body["status"] != "active" || created.body["version"] != float64(1) {
		t.Fatalf("created: %s", created.raw)
	}
	key := call(owner, 201, "POST", "/api/v1/secrets", map[string]any{"name": "stripe", "type": "api_key", "value": keyValue})
	oauth := call(owner, 201, "POST", "/api/v1/secrets", map[string]any{"name": "google", "type": "oauth_token",
		"value": map[string]any{"access_token": accessValue, "refresh_token": refreshValue, "token_type": "Bearer", "expiry": "2030-01-01T00:00:00Z"}})

	t.Run("bad input names the problem and changes nothing", func(t *testing.T) {
		r := call(owner, 409, "POST", "/api/v1/secrets", map[string]any{"name": "erp admin", "type": "password", "value": keyValue})
		if !strings.Contains(r.errMessage(), `a secret named "erp admin" already exists`) {
			t.Fatalf("duplicate: %s", r.raw)
		}
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"name": "x", "type": "ssh_key", "value": keyValue}, `type: unknown type "ssh_key"; must be one of password, api_key, oauth_token`},
			{map[string]any{"name": "x", "type": "api_key", "value": map[string]any{"k": keyValue}}, "value: must be a JSON string for type api_key"},
			{map[string]any{"name": "x", "type": "oauth_token", "value": map[string]any{"refresh_token": refreshValue}}, "value.access_token: required"},
			{map[string]any{"name": "x", "type": "password", "value": pwValue, "expires_at": "next week"}, "expires_at: must be an RFC 3339 time"},
			{map[string]any{"name": "x", "type": "password", "value": pwValue, "expires_at": "2001-01-01T00:00:00Z"}, "expires_at: must be in the future"},
			{map[string]any{"name": "x", "type": "password", "value": pwValue, "metadata": map[string]any{"token": keyValue}}, "metadata.token: the name says it holds a credential"},
			{map[string]any{"name": "x", "type": "password", "value": pwValue, "secret": true}, `unknown field "secret"`},
		} {
			r := call(owner, 400, "POST", "/api/v1/secrets", c.body)
			if !strings.Contains(r.errMessage(), c.want) {
				t.Errorf("%v: message %q, want %q", c.body, r.errMessage(), c.want)
			}
		}
		page := call(owner, 200, "GET", "/api/v1/secrets", nil)
		if n := len(page.body["items"].([]any)); n != 3 {
			t.Fatalf("bad input stored something: %d secrets: %s", n, page.raw)
		}
	})

	t.Run("list and get show metadata", func(t *testing.T) {
		p1 := call(owner, 200, "GET", "/api/v1/secrets?limit=2", nil)
		next, _ := p1.body["next_cursor"].(string)
		if len(p1.body["items"].([]any)) != 2 || next == "" {
			t.Fatalf("first page: %s", p1.raw)
		}
		p2 := call(owner, 200, "GET", "/api/v1/secrets?limit=2&cursor="+next, nil)
		if len(p2.body["items"].([]any)) != 1 {
			t.Fatalf("second page: %s", p2.raw)
		}
		g := call(owner, 200, "GET", "/api/v1/secrets/"+id, nil)
		if g.body["name"] != "erp admin" || g.body["metadata"].(map[string]any)["username"] != "admin" {
			t.Fatalf("get: %s", g.raw)
		}
		u := call(owner, 200, "PUT", "/api/v1/secrets/"+id+"/metadata", map[string]any{"metadata": map[string]any{"description": "ERP login", "username": "root"}})
		if u.body["metadata"].(map[string]any)["username"] != "root" || u.body["version"] != float64(1) {
			t.Fatalf("metadata update: %s", u.raw)
		}
		r := call(owner, 400, "PUT", "/api/v1/secrets/"+id+"/metadata", map[string]any{"metadata": map[string]any{"note": "Bearer " + keyValue}})
		if !strings.Contains(r.errMessage(), "metadata.note: the value looks like a credential") {
			t.Fatalf("credential in metadata: %s", r.raw)
		}
		call(member, 403, "PUT", "/api/v1/secrets/"+id+"/metadata", map[string]any{"metadata": map[string]any{}})
		call(owner, 400, "GET", "/api/v1/secrets?status=lost", nil)
		call(owner, 404, "GET", "/api/v1/secrets/00000000-0000-4000-8000-000000000000", nil)
	})

	t.Run("values are write-only for people and readable by a token with secrets.use", func(t *testing.T) {
		r := call(owner, 403, "POST", "/api/v1/secrets/"+id+"/reveal", map[string]any{"purpose": "curious"})
		if !strings.Contains(r.errMessage(), "write-only for people") || !strings.Contains(r.errMessage(), "API token") {
			t.Fatalf("session reveal: %s", r.raw)
		}
		call(member, 403, "POST", "/api/v1/secrets/"+id+"/reveal", map[string]any{"purpose": "curious"})
		call(service, 400, "POST", "/api/v1/secrets/"+id+"/reveal", map[string]any{"purpose": ""})
		for _, c := range []struct{ id, want string }{{id, `"` + pwValue + `"`}, {key.body["id"].(string), `"` + keyValue + `"`}, {oauth.body["id"].(string), accessValue}} {
			v := service.call(200, "POST", "/api/v1/secrets/"+c.id+"/reveal", map[string]any{"purpose": "nightly ERP sync"})
			if !strings.Contains(v.raw, c.want) || v.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("reveal %s: %v %s", c.id, v.header, v.raw)
			}
		}
		g := call(owner, 200, "GET", "/api/v1/secrets/"+id, nil)
		if g.body["last_used_at"] == nil {
			t.Fatalf("last_used_at not set: %s", g.raw)
		}
	})

	t.Run("another organization cannot see or touch the secret", func(t *testing.T) {
		for _, r := range []response{
			call(other, 404, "GET", "/api/v1/secrets/"+id, nil),
			call(other, 404, "PUT", "/api/v1/secrets/"+id+"/value", map[string]any{"value": "overwritten!"}),
			call(other, 404, "PUT", "/api/v1/secrets/"+id+"/metadata", map[string]any{"metadata": map[string]any{"description": "mine now"}}),
			call(service, 404, "POST", "/api/v1/secrets/00000000-0000-4000-8000-000000000000/reveal", map[string]any{"purpose": "guess"}),
			call(other, 404, "DELETE", "/api/v1/secrets/"+id, nil),
		} {
			if strings.Contains(r.raw, "erp admin") {
				t.Fatalf("leak: %s", r.raw)
			}
		}
		if p := call(other, 200, "GET", "/api/v1/secrets", nil); len(p.body["items"].([]any)) != 0 {
			t.Fatalf("other org lists: %s", p.raw)
		}
	})

	t.Run("rotate makes a new version", func(t *testing.T) {
		call(owner, 400, "PUT", "/api/v1/secrets/"+id+"/value", map[string]any{"value": 42})
		r := call(owner, 200, "PUT", "/api/v1/secrets/"+id+"/value", map[string]any{"value": rotated, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		if r.body["version"] != float64(2) || r.body["expires_at"] == nil {
			t.Fatalf("rotate: %s", r.raw)
		}
		v := service.call(200, "POST", "/api/v1/secrets/"+id+"/reveal", map[string]any{"purpose": "after rotation"})
		if !strings.Contains(v.raw, rotated) || v.body["version"] != float64(2) {
			t.Fatalf("reveal after rotate: %s", v.raw)
		}
	})

	t.Run("an expired secret cannot be read", func(t *testing.T) {
		kid := key.body["id"].(string)
		err := in.data.DB.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE secrets SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UnixMicro(), kid)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		r := service.call(410, "POST", "/api/v1/secrets/"+kid+"/reveal", map[string]any{"purpose": "too late"})
		if !strings.Contains(r.errMessage(), "expired at") {
			t.Fatalf("expired reveal: %s", r.raw)
		}
		answers = append(answers, r.raw)
		call(owner, 410, "PUT", "/api/v1/secrets/"+kid+"/value", map[string]any{"value": "renewed-key-1"})
		if p := call(owner, 200, "GET", "/api/v1/secrets?status=expired", nil); !strings.Contains(p.raw, kid) {
			t.Fatalf("expired listing: %s", p.raw)
		}
	})

	t.Run("revoke destroys the value for good", func(t *testing.T) {
		r := call(owner, 200, "DELETE", "/api/v1/secrets/"+id, nil)
		if r.body["status"] != "revoked" || r.body["revoked_at"] == nil {
			t.Fatalf("revoke: %s", r.raw)
		}
		var ct []byte
		err := in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT ciphertext FROM secrets WHERE id = ?", id).Scan(&ct)
		})
		if err != nil || ct != nil {
			t.Fatalf("ciphertext after revoke: %v %x", err, ct)
		}
		g := service.call(410, "POST", "/api/v1/secrets/"+id+"/reveal", map[string]any{"purpose": "after revoke"})
		answers = append(answers, g.raw)
		if g.errCode() != "shredded" || !strings.Contains(g.errMessage(), "was revoked at") || !strings.Contains(g.errMessage(), "destroyed") {
			t.Fatalf("reveal after revoke: %s", g.raw)
		}
		call(owner, 410, "PUT", "/api/v1/secrets/"+id+"/value", map[string]any{"value": "again-value-1"})
		call(owner, 410, "DELETE", "/api/v1/secrets/"+id, nil)
		call(owner, 410, "PUT", "/api/v1/secrets/"+id+"/metadata", map[string]any{"metadata": map[string]any{}})
		if p := call(owner, 200, "GET", "/api/v1/secrets?status=revoked", nil); !strings.Contains(p.raw, id) {
			t.Fatalf("revoked listing: %s", p.raw)
		}
		// The name is free for the replacement.
		call(owner, 201, "POST", "/api/v1/secrets", map[string]any{"name": "erp admin", "type": "password", "value": rotated})
	})

	t.Run("the audit log names secrets and purposes, never values", func(t *testing.T) {
		a := call(owner, 200, "GET", "/api/v1/audit?action=secret.&limit=200", nil)
		for _, want := range []string{"secret.create", "secret.reveal", "secret.rotate", "secret.revoke", "secret.update", "nightly ERP sync", `"denied"`, `"failure"`} {
			if !strings.Contains(a.raw, want) {
				t.Errorf("audit lacks %s: %s", want, xtClip(a.raw))
			}
		}
	})

	for _, raw := range answers {
		if found := values.find([]byte(raw)); len(found) > 0 {
			t.Errorf("an API answer contains %q: %s", found, xtClip(raw))
		}
	}
	grepCheck(t, in, values)
}
