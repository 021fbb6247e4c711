package apitest

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	otp "github.com/pquerna/otp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// The served OpenAPI document is the API's contract. These tests drive a
// real instance and check every exchange against it: the operation is
// documented, the status is one it lists, and the body validates against
// the JSON Schema (2020-12, the dialect of OpenAPI 3.1) declared for that
// method, path, status and content type. A request the server accepted
// must validate against the documented request body too.

func TestResponsesConformToTheOpenAPIDocument(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { oaConformance(t, d) })
	}
}

// oaDoc is the served document with a schema compiler over it.
type oaDoc struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema // by location
}

// oaDocURL names the document for the compiler; it is never fetched.
const oaDocURL = "https://rampart.invalid/api/v1/openapi.json"

func oaFetchDoc(t *testing.T, in *instance) *oaDoc {
	t.Helper()
	r := in.client(t).expect(200, "GET", "/api/v1/openapi.json", nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("openapi.json: Content-Type %q", ct)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(r.raw))
	if err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	doc, _ := v.(map[string]any)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: openapi = %v, want 3.1.0", doc["openapi"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time, uuid, uri are checked, not just noted
	if err := c.AddResource(oaDocURL, doc); err != nil {
		t.Fatal(err)
	}
	return &oaDoc{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

func oaChild(v any, keys ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// oaPointer builds a URL-escaped JSON pointer.
func oaPointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)))
	}
	return b.String()
}

// template finds the documented path that a concrete path matches,
// preferring literal segments over parameters ("/sessions/revoke-all" over
// "/sessions/{id}").
func (d *oaDoc) template(path string) (string, bool) {
	segs := strings.Split(path, "/")
	best, bestLiterals := "", -1
	for tpl := range oaChild(d.doc, "paths") {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		literals, match := 0, true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
				match = match && segs[i] != ""
				continue
			}
			if ts[i] != segs[i] {
				match = false
				break
			}
			literals++
		}
		if match && literals > bestLiterals {
			best, bestLiterals = tpl, literals
		}
	}
	return best, bestLiterals >= 0
}

// validate checks v against the schema at loc (a URL-escaped pointer into
// the document).
func (d *oaDoc) validate(loc string, v any) error {
	s, ok := d.schemas[loc]
	if !ok {
		var err error
		if s, err = d.compiler.Compile(oaDocURL + "#" + loc); err != nil {
			return fmt.Errorf("the document's schema at %s does not compile: %w", loc, err)
		}
		d.schemas[loc] = s
	}
	return s.Validate(v)
}

// check validates one exchange against the document and reports every
// mismatch on t.
func (d *oaDoc) check(t *testing.T, method, target string, reqBody any, r response) {
	t.Helper()
	path, _, _ := strings.Cut(target, "?")
	what := method + " " + target
	tpl, ok := d.template(path)
	if !ok {
		t.Errorf("%s: the document has no path matching %s", what, path)
		return
	}
	m := strings.ToLower(method)
	op := oaChild(d.doc, "paths", tpl, m)
	if op == nil {
		t.Errorf("%s: the document has no %s operation on %s", what, method, tpl)
		return
	}
	status := strconv.Itoa(r.status)
	resp, ok := oaChild(op, "responses")[status]
	if !ok {
		t.Errorf("%s answered %d, which the document does not list for %s %s: %s", what, r.status, method, tpl, r.raw)
		return
	}
	base := oaPointer("paths", tpl, m, "responses", status)
	if ref, ok := oaChild(resp)["$ref"].(string); ok {
		base = strings.TrimPrefix(ref, "#")
		resp = oaChild(d.doc, strings.Split(strings.TrimPrefix(base, "/"), "/")...)
	}

	if r.status >= 200 && r.status < 300 && reqBody != nil {
		if oaChild(op, "requestBody") == nil {
			t.Errorf("%s accepted a body, but the document declares none", what)
		} else if err := d.validate(oaPointer("paths", tpl, m, "requestBody", "content", "application/json", "schema"), oaJSON(t, reqBody)); err != nil {
			t.Errorf("%s: the server accepted a request body that breaks the documented schema: %v", what, err)
		}
	}

	content := oaChild(resp, "content")
	if len(content) == 0 {
		if r.raw != "" {
			t.Errorf("%s %d: the document declares no body, got %q", what, r.status, r.raw)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		t.Errorf("%s %d: Content-Type %q is not one the document declares (%v)", what, r.status, r.header.Get("Content-Type"), slices.Sorted(maps.Keys(content)))
		return
	}
	var body any = r.raw // text/plain is validated as one string
	if mt == "application/json" {
		if body, err = jsonschema.UnmarshalJSON(strings.NewReader(r.raw)); err != nil {
			t.Errorf("%s %d: body is not JSON: %v: %q", what, r.status, err, r.raw)
			return
		}
	}
	if err := d.validate(base+oaPointer("content", mt, "schema"), body); err != nil {
		t.Errorf("%s %d: body breaks the documented schema: %v\nbody: %s", what, r.status, err, r.raw)
	}
}

func oaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oaClient is a client whose every exchange is checked.
type oaClient struct {
	*client
	doc *oaDoc
}

// call sends a request, checks the exchange against the document and, when
// want is not 0, the status.
func (c oaClient) call(want int, method, target string, body any) response {
	c.t.Helper()
	r := c.do(method, target, body)
	if want != 0 && r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, target, r.status, want, r.raw)
	}
	c.doc.check(c.t, method, target, body, r)
	return r
}

func oaConformance(t *testing.T, d store.Dialect) {
	in := start(t, d)
	seed(t, in)
	doc := oaFetchDoc(t, in)
	as := func(t *testing.T) oaClient { return oaClient{in.client(t), doc} }
	signIn := func(t *testing.T, org, email string) oaClient {
		t.Helper()
		c := as(t)
		c.call(200, "POST", "/api/v1/auth/login", map[string]string{"organization": org, "email": email, "password": pw})
		return c
	}

	t.Run("system endpoints", func(t *testing.T) {
		c := as(t)
		c.call(200, "GET", "/healthz", nil)
		c.call(200, "GET", "/readyz", nil)
		c.call(200, "GET", "/.well-known/security.txt", nil)
		c.call(200, "GET", "/api/v1/openapi.json", nil)
	})

	t.Run("errors of each kind have the documented shape", func(t *testing.T) {
		anon := as(t)
		anon.call(401, "GET", "/api/v1/me", nil)
		anon.call(401, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": "wrong password!!"})
		anon.call(400, "POST", "/api/v1/auth/login", map[string]any{"organization": "acme", "extra": 1})
		// The catch-all 404 belongs to no operation; it still has the
		// documented error shape.
		if r := anon.do("GET", "/api/v1/no-such-endpoint", nil); r.status != 404 {
			t.Fatalf("unknown endpoint: %d %s", r.status, r.raw)
		} else if err := doc.validate(oaPointer("components", "schemas", "Error"), oaJSON(t, r.body)); err != nil {
			t.Errorf("unknown endpoint: %v: %s", err, r.raw)
		}
		member := signIn(t, "acme", "member@acme.test")
		member.call(403, "GET", "/api/v1/audit", nil)
		member.call(404, "DELETE", "/api/v1/me/tokens/00000000-0000-4000-8000-000000000000", nil)
		member.call(404, "DELETE", "/api/v1/sessions/00000000-0000-4000-8000-000000000000", nil)
		member.call(409, "POST", "/api/v1/auth/mfa", map[string]string{"code": "123456"})
		owner := signIn(t, "acme", "owner@acme.test")
		me := owner.call(200, "GET", "/api/v1/me", nil)
		owner.call(409, "PUT", "/api/v1/members/"+me.body["id"].(string)+"/roles", map[string]any{"roles": []string{"member"}})
		owner.call(400, "GET", "/api/v1/audit?since=yesterday", nil)
		r := owner.call(400, "PUT", "/api/v1/policy/password", map[string]any{"min_length": 4, "max_length": 32})
		if r.errCode() != "password_policy" {
			t.Fatalf("weak policy: %s", r.raw)
		}
		var last response
		for range 7 {
			last = anon.call(0, "POST", "/api/v1/auth/login", map[string]string{"organization": "globex", "email": "member@globex.test", "password": "wrong wrong wrong"})
		}
		if last.status != 429 {
			t.Fatalf("after 7 failures: %d %s", last.status, last.raw)
		}
	})

	t.Run("signed-in user, tokens and sessions", func(t *testing.T) {
		owner := signIn(t, "acme", "owner@acme.test")
		owner.call(200, "GET", "/api/v1/me", nil)
		tok := owner.call(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "ci", "permissions": []string{"members.read", "audit.read"}, "expires_in_seconds": 3600})
		owner.call(200, "GET", "/api/v1/me/tokens", nil)
		bearer := as(t)
		bearer.bearer = tok.body["token"].(string)
		bearer.call(200, "GET", "/api/v1/me", nil)
		bearer.call(200, "GET", "/api/v1/members", nil)
		bearer.call(403, "POST", "/api/v1/me/tokens", map[string]any{"name": "x", "permissions": []string{"members.read"}, "expires_in_seconds": 60})
		owner.call(204, "DELETE", "/api/v1/me/tokens/"+tok.body["id"].(string), nil)
		bearer.call(401, "GET", "/api/v1/me", nil)

		other := signIn(t, "acme", "owner@acme.test")
		list := owner.call(200, "GET", "/api/v1/sessions", nil)
		var otherID string
		for _, x := range list.body["items"].([]any) {
			if s := x.(map[string]any); s["current"] == false {
				otherID = s["id"].(string)
			}
		}
		if otherID == "" {
			t.Fatalf("second session not listed: %s", list.raw)
		}
		owner.call(204, "DELETE", "/api/v1/sessions/"+otherID, nil)
		other.call(401, "GET", "/api/v1/me", nil)
		signIn(t, "acme", "owner@acme.test")
		owner.call(200, "POST", "/api/v1/sessions/revoke-all", map[string]any{"keep_current": true})
		owner.call(204, "POST", "/api/v1/auth/logout", nil)
		owner.call(401, "GET", "/api/v1/me", nil)
	})

	t.Run("policy, members and audit", func(t *testing.T) {
		owner := signIn(t, "acme", "owner@acme.test")
		pol := owner.call(200, "GET", "/api/v1/policy/password", nil)
		owner.call(200, "PUT", "/api/v1/policy/password", pol.body)
		ms := owner.call(200, "GET", "/api/v1/members", nil)
		var memberID string
		for _, x := range ms.body["items"].([]any) {
			if m := x.(map[string]any); m["email"] == "staff@acme.test" {
				memberID = m["id"].(string)
			}
		}
		owner.call(200, "PUT", "/api/v1/members/"+memberID+"/roles", map[string]any{"roles": []string{"auditor"}})
		owner.call(200, "GET", "/api/v1/sessions?user="+memberID, nil)
		owner.call(200, "GET", "/api/v1/audit", nil)
		page := owner.call(200, "GET", "/api/v1/audit?action=auth.&limit=1", nil)
		cursor, _ := page.body["next_cursor"].(string)
		if cursor == "" {
			t.Fatalf("no next_cursor on a full page: %s", page.raw)
		}
		owner.call(200, "GET", "/api/v1/audit?limit=1&cursor="+cursor, nil)
		owner.call(200, "PUT", "/api/v1/members/"+memberID+"/roles", map[string]any{"roles": []string{"member"}})
	})

	t.Run("invitations, password reset and platform routes", func(t *testing.T) {
		owner := signIn(t, "acme", "owner@acme.test")
		inv := owner.call(201, "POST", "/api/v1/invites", map[string]any{"email": "newcomer@acme.test", "roles": []string{"member"}})
		owner.call(200, "GET", "/api/v1/invites", nil)
		owner.call(204, "DELETE", "/api/v1/invites/"+inv.body["id"].(string), nil)
		owner.call(403, "POST", "/api/v1/organizations", map[string]string{"name": "Initech", "slug": "initech"})
		anon := as(t)
		anon.call(400, "POST", "/api/v1/invites/accept", map[string]string{"token": "rpi_not-a-token", "password": pw})
		anon.call(202, "POST", "/api/v1/auth/password-reset", map[string]string{"organization": "acme", "email": "nobody@acme.test"})
		anon.call(400, "POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": "rpr_not-a-token", "password": pw})
		anon.call(400, "POST", "/api/v1/bootstrap", map[string]string{"token": "rpb_not-a-token", "email": "op@example.test", "password": pw})
	})

	t.Run("two-factor enrolment, second factor and turning it off", func(t *testing.T) {
		c := signIn(t, "globex", "staff@globex.test")
		enr := c.call(200, "POST", "/api/v1/me/totp", nil)
		key, err := otp.NewKeyFromURL(enr.body["otpauth_uri"].(string))
		if err != nil {
			t.Fatal(err)
		}
		conf := c.call(200, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": totpCode(t, key.Secret(), time.Now())})
		codes := conf.body["recovery_codes"].([]any)
		c.call(204, "POST", "/api/v1/auth/logout", nil)
		r := c.call(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "globex", "email": "staff@globex.test", "password": pw})
		if r.body["mfa_required"] != true {
			t.Fatalf("login after enrolment: %s", r.raw)
		}
		c.call(401, "GET", "/api/v1/me", nil)
		c.call(401, "POST", "/api/v1/auth/mfa", map[string]string{"code": "000000"})
		c.call(200, "POST", "/api/v1/auth/mfa", map[string]string{"code": codes[0].(string)})
		c.call(409, "POST", "/api/v1/me/totp", nil)
		c.call(204, "POST", "/api/v1/me/totp/disable", map[string]string{"code": totpCode(t, key.Secret(), time.Now().Add(30*time.Second))})
	})

	// Every documented operation, called without a credential and then by
	// a signed-in owner with an unknown field in its body, answers a
	// documented status with a conforming body.
	t.Run("every documented operation answers as documented", func(t *testing.T) {
		anon := as(t)
		owner := signIn(t, "acme", "owner@acme.test")
		paths := oaChild(doc.doc, "paths")
		for _, tpl := range slices.Sorted(maps.Keys(paths)) {
			target := tpl
			for _, seg := range strings.Split(tpl, "/") {
				if strings.HasPrefix(seg, "{") {
					target = strings.Replace(target, seg, "00000000-0000-4000-8000-000000000000", 1)
				}
			}
			for _, m := range []string{"get", "put", "post", "delete", "patch"} {
				op := oaChild(paths, tpl, m)
				if op == nil {
					continue
				}
				method := strings.ToUpper(m)
				r := anon.call(0, method, target, nil)
				if r.status == 404 && strings.HasPrefix(r.errMessage(), "no such endpoint") {
					t.Errorf("%s %s is documented but not served", method, tpl)
				}
				if oaChild(op, "requestBody") != nil {
					r := owner.call(0, method, target, map[string]any{"unexpected_field": true})
					if r.status < 400 || r.status >= 500 {
						t.Errorf("%s %s accepted a body with an unknown field: %d %s", method, tpl, r.status, r.raw)
					}
				} else if method == "GET" {
					owner.call(0, method, target, nil)
				}
			}
		}
	})
}
