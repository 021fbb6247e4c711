package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
)

// These tests keep the OpenAPI document true to the code: the route table
// and the document list the same operations, each operation says what it
// answers, and the document is a well-formed OpenAPI 3.1 description whose
// schemas are valid JSON Schema 2020-12. The end-to-end half, real
// responses validated against the schemas, is
// internal/apitest/openapi_conformance_test.go.

const oaTestVersion = "1.2.3-test"

// oaTestHandler is the real handler with no domain services: enough for every
// route that answers before it reaches one (no credential, no body).
func oaTestHandler() http.Handler {
	return NewHandler(Deps{Log: slog.New(slog.DiscardHandler), Version: oaTestVersion})
}

func oaServe(h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "https://rampart.test"+target, body))
	return rec
}

// oaServedDocument fetches the document as a client does and decodes it
// generically, so the tests read what clients read, not the Go structs.
func oaServedDocument(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	rec := oaServe(oaTestHandler(), "GET", openAPIPath, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", openAPIPath, rec.Code, rec.Body)
	}
	raw = rec.Body.Bytes()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("GET %s: not JSON: %v", openAPIPath, err)
	}
	return raw, doc
}

// oaOp is one method of one path of the document.
type oaOp struct {
	method, path string // upper-case method, OpenAPI path
	op           map[string]any
}

func (o oaOp) String() string { return o.method + " " + o.path }

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func oaOperations(doc map[string]any) []oaOp {
	var out []oaOp
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range oaMethods {
			if op, ok := item[m].(map[string]any); ok {
				out = append(out, oaOp{strings.ToUpper(m), p, op})
			}
		}
	}
	return out
}

func oaObj(v any, keys ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

func TestEveryRouteOfTheTableHasADocEntryAndNoEntryIsStale(t *testing.T) {
	docs := operationDocs()
	inTable := map[string]bool{}
	for _, rt := range apiRoutes() {
		key := rt.method + " " + rt.path
		inTable[key] = true
		if _, ok := docs[key]; !ok {
			t.Errorf("route %s has no entry in operationDocs (internal/httpapi/openapi.go): document what it takes, answers and needs", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		if !inTable[key] {
			t.Errorf("operationDocs entry %q matches no route of apiRoutes(): remove it, or fix its method or path", key)
		}
	}
}

func TestTheDocumentListsExactlyTheServedOperations(t *testing.T) {
	_, doc := oaServedDocument(t)
	want := map[string]bool{}
	for _, rt := range apiRoutes() {
		p, _ := openAPIPathOf(rt.path)
		want[rt.method+" "+p] = true
	}
	for _, s := range oaSystemRoutes() {
		p, _ := openAPIPathOf(s.path)
		want[s.method+" "+p] = true
	}
	got := map[string]bool{}
	for _, o := range oaOperations(doc) {
		got[o.String()] = true
		if !want[o.String()] {
			t.Errorf("the document lists %s, which no route serves", o)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("route %s is missing from the document", k)
		}
	}
}

// Each documented operation must reach a handler of the real mux, not the
// catch-all 404; this also covers the routes NewHandler registers outside
// the table (health, readiness, security.txt, this document).
func TestEveryDocumentedOperationIsRouted(t *testing.T) {
	_, doc := oaServedDocument(t)
	h := oaTestHandler()
	for _, o := range oaOperations(doc) {
		target := strings.NewReplacer("{", "", "}", "").Replace(o.path) // "{id}" -> "id": any value routes
		rec := oaServe(h, o.method, target, nil)
		var body ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code == http.StatusNotFound && strings.HasPrefix(body.Error.Message, "no such endpoint") {
			t.Errorf("%s is documented but not served: %s", o, rec.Body)
			continue
		}
		if _, ok := oaObj(o.op, "responses")[strconv.Itoa(rec.Code)]; !ok {
			t.Errorf("%s without credential or body answered %d, which it does not document", o, rec.Code)
		}
	}
}

func TestEveryOperationIsCompletelyDocumented(t *testing.T) {
	_, doc := oaServedDocument(t)
	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[oaObj(tg)["name"].(string)] = true
	}
	schemes := oaObj(doc, "components", "securitySchemes")
	permissions := map[string]bool{}
	for _, p := range authz.Catalogue() {
		permissions[string(p.Name)] = true
	}
	ids := map[string]string{}
	for _, o := range oaOperations(doc) {
		fail := func(format string, args ...any) { t.Errorf("%s: %s", o, fmt.Sprintf(format, args...)) }
		id, _ := o.op["operationId"].(string)
		if id == "" {
			fail("no operationId")
		} else if other, dup := ids[id]; dup {
			fail("operationId %q is also used by %s", id, other)
		}
		ids[id] = o.String()
		if s, _ := o.op["summary"].(string); s == "" || s == "Not yet documented" {
			fail("no summary: add an entry to operationDocs")
		}
		opTags, _ := o.op["tags"].([]any)
		if len(opTags) == 0 {
			fail("no tag")
		}
		for _, tg := range opTags {
			if !tags[tg.(string)] {
				fail("tag %q is not declared in the document's tags", tg)
			}
		}

		responses := oaObj(o.op, "responses")
		has := func(status int) bool { _, ok := responses[strconv.Itoa(status)]; return ok }
		success := false
		for code := range responses {
			n, err := strconv.Atoi(code)
			if err != nil || n < 100 || n > 599 {
				fail("response key %q is not an HTTP status", code)
			}
			success = success || (n >= 200 && n < 300)
		}
		if !success {
			fail("no 2xx response")
		}

		security, ok := o.op["security"].([]any)
		if !ok {
			fail("no security requirement (public operations state [])")
		}
		for _, req := range security {
			for name, scopes := range oaObj(req) {
				if oaObj(schemes, name) == nil {
					fail("security scheme %q is not declared", name)
				}
				for _, p := range scopes.([]any) {
					if !permissions[p.(string)] {
						fail("security requirement names %q, which is not a permission", p)
					}
				}
			}
		}
		if len(security) > 0 && !(has(401) && has(403)) {
			fail("authenticated, but does not document both 401 and 403")
		}
		if o.op["requestBody"] != nil {
			if !has(400) {
				fail("takes a body, but does not document 400")
			}
			// JSON, or a file upload's raw bytes, or (identity verification) multipart parts.
			if oaObj(o.op, "requestBody", "content", "application/json", "schema") == nil &&
				oaObj(o.op, "requestBody", "content", "application/octet-stream", "schema") == nil &&
				oaObj(o.op, "requestBody", "content", "multipart/form-data", "schema") == nil {
				fail("request body has no application/json (or, for an upload, application/octet-stream) schema")
			}
		}

		inPath := map[string]bool{}
		for _, seg := range strings.Split(o.path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				inPath[strings.Trim(seg, "{}")] = true
			}
		}
		declared := map[string]bool{}
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			pm := oaObj(p)
			name, _ := pm["name"].(string)
			if pm["in"] != "path" {
				continue
			}
			if declared[name] {
				fail("path parameter {%s} is declared twice", name)
			}
			declared[name] = true
			if pm["required"] != true {
				fail("path parameter {%s} is not required (OpenAPI requires it)", name)
			}
			if !inPath[name] {
				fail("declares path parameter {%s}, which is not in the path", name)
			}
		}
		for name := range inPath {
			if !declared[name] {
				fail("path parameter {%s} is not declared", name)
			}
		}
	}
}

func TestTheDocumentIsWellFormedOpenAPI31(t *testing.T) {
	raw, doc := oaServedDocument(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	info := oaObj(doc, "info")
	if info["title"] == "" || info["title"] == nil {
		t.Error("info.title is missing")
	}
	if info["version"] != oaTestVersion {
		t.Errorf("info.version = %v, want the build version %q", info["version"], oaTestVersion)
	}
	for _, k := range []string{"paths", "components"} {
		if len(oaObj(doc, k)) == 0 {
			t.Errorf("%s is missing or empty", k)
		}
	}
	for p := range oaObj(doc, "paths") {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("path %q does not start with /", p)
		}
	}

	// Every $ref resolves inside the document, and every component schema
	// is used (an unused one is a stale leftover).
	used := map[string]bool{}
	oaWalkRefs(doc, "#", func(at, ref string) {
		ptr, ok := strings.CutPrefix(ref, "#")
		if !ok {
			t.Errorf("%s: $ref %q points outside the document", at, ref)
			return
		}
		if _, err := oaResolve(doc, ptr); err != nil {
			t.Errorf("%s: $ref %q does not resolve: %v", at, ref, err)
		}
		used[ref] = true
	})
	for name := range oaObj(doc, "components", "schemas") {
		if !used["#/components/schemas/"+name] {
			t.Errorf("components.schemas.%s is not used by any operation", name)
		}
	}

	// Every schema is valid JSON Schema 2020-12: compiling it checks it
	// against the meta-schema.
	c := oaCompiler(t, raw)
	for _, loc := range oaSchemaLocations(doc) {
		if _, err := c.Compile(oaDocURL + "#" + loc); err != nil {
			t.Errorf("schema at %s: %v", loc, err)
		}
	}
}

func TestTheDocumentIsServedAsJSONAndIsTheSameOnEveryBuild(t *testing.T) {
	rec := oaServe(oaTestHandler(), "GET", openAPIPath, nil)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	again := oaServe(oaTestHandler(), "GET", openAPIPath, nil)
	if !bytes.Equal(rec.Body.Bytes(), again.Body.Bytes()) {
		t.Error("two handlers of the same version serve different documents")
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Error("the document is not valid JSON")
	}
}

// The named Go types that handlers write must have exactly the properties
// their schema lists, and the schema must require every field that is never
// omitted (no omitempty) and no field that may be.
func TestResponseSchemasMatchTheGoTypes(t *testing.T) {
	_, doc := oaServedDocument(t)
	schemas := oaObj(doc, "components", "schemas")
	for _, tc := range []struct {
		schema string
		value  any
		// alwaysSet are omitempty fields that are never empty in a
		// response, so the schema requires them.
		alwaysSet []string
	}{
		{"Me", identity.Me{}, nil},
		{"Member", identity.User{}, nil},
		{"Session", identity.Session{}, nil},
		{"APIToken", identity.APIToken{}, nil},
		{"TOTPEnrollment", identity.TOTPEnrollment{}, nil},
		{"PasswordPolicy", identity.PasswordSettings{}, nil},
		{"PasswordViolation", password.Violation{}, nil},
		{"AuditRecord", audit.Record{}, nil},
		{"AuditPage", audit.Page{}, nil},
		{"Invite", identity.Invite{}, nil},
		{"Organization", Organization{}, nil},
		{"Error", ErrorBody{}, nil},
		{"Error.error", ErrorDetail{}, []string{"request_id"}}, // perimeter.RequestID wraps every route
	} {
		t.Run(tc.schema, func(t *testing.T) {
			name, sub, _ := strings.Cut(tc.schema, ".")
			s := oaObj(schemas, name)
			if sub != "" {
				s = oaObj(s, "properties", sub)
			}
			if s == nil {
				t.Fatalf("no schema %s", tc.schema)
			}
			required := map[string]bool{}
			for _, r := range s["required"].([]any) {
				required[r.(string)] = true
			}
			fields := oaJSONFields(reflect.TypeOf(tc.value))
			for f, omitempty := range fields {
				if oaObj(s, "properties", f) == nil {
					t.Errorf("field %q of %T is not in the schema", f, tc.value)
				}
				if required[f] == (omitempty && !slices.Contains(tc.alwaysSet, f)) {
					t.Errorf("field %q: required=%v, but omitempty=%v", f, required[f], omitempty)
				}
			}
			for p := range oaObj(s, "properties") {
				if _, ok := fields[p]; !ok {
					t.Errorf("schema property %q is not a field of %T", p, tc.value)
				}
			}
		})
	}
}

// oaJSONFields lists the JSON names of t's fields (embedded structs
// flattened), each with whether it is omitempty.
func oaJSONFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			for k, v := range oaJSONFields(f.Type) {
				out[k] = v
			}
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out[name] = slices.Contains(strings.Split(opts, ","), "omitempty")
	}
	return out
}

// oaDocURL names the document for the schema compiler; it is never fetched.
const oaDocURL = "https://rampart.invalid/api/v1/openapi.json"

func oaCompiler(t *testing.T, raw []byte) *jsonschema.Compiler {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(oaDocURL, v); err != nil {
		t.Fatal(err)
	}
	return c
}

// oaSchemaLocations lists the JSON pointers (URL-escaped) of every schema the
// document holds: components, parameters, bodies, responses, headers.
func oaSchemaLocations(doc map[string]any) []string {
	var locs []string
	for name := range oaObj(doc, "components", "schemas") {
		locs = append(locs, oaPointer("components", "schemas", name))
	}
	addContent := func(content map[string]any, base ...string) {
		for ct := range content {
			locs = append(locs, oaPointer(append(base, "content", ct, "schema")...))
		}
	}
	addHeaders := func(headers map[string]any, base ...string) {
		for h := range headers {
			locs = append(locs, oaPointer(append(base, "headers", h, "schema")...))
		}
	}
	for name, r := range oaObj(doc, "components", "responses") {
		addContent(oaObj(r, "content"), "components", "responses", name)
		addHeaders(oaObj(r, "headers"), "components", "responses", name)
	}
	for _, o := range oaOperations(doc) {
		m := strings.ToLower(o.method)
		params, _ := o.op["parameters"].([]any)
		for i := range params {
			locs = append(locs, oaPointer("paths", o.path, m, "parameters", strconv.Itoa(i), "schema"))
		}
		addContent(oaObj(o.op, "requestBody", "content"), "paths", o.path, m, "requestBody")
		for status, r := range oaObj(o.op, "responses") {
			addContent(oaObj(r, "content"), "paths", o.path, m, "responses", status)
			addHeaders(oaObj(r, "headers"), "paths", o.path, m, "responses", status)
		}
	}
	slices.Sort(locs)
	return locs
}

// oaPointer builds a URL-escaped JSON pointer from tokens.
func oaPointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)))
	}
	return b.String()
}

// oaResolve follows an unescaped-URL JSON pointer ("/a/b~1c") in v.
func oaResolve(v any, ptr string) (any, error) {
	ptr, err := url.PathUnescape(ptr)
	if err != nil {
		return nil, err
	}
	if ptr == "" {
		return v, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("cannot step into %T with %q", v, tok)
		}
	}
	return v, nil
}

// oaWalkRefs calls fn for every "$ref" string in v, with where it was found.
func oaWalkRefs(v any, at string, fn func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if s, ok := child.(string); ok && k == "$ref" {
				fn(at, s)
				continue
			}
			oaWalkRefs(child, at+"/"+k, fn)
		}
	case []any:
		for i, child := range x {
			oaWalkRefs(child, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// The catalogue of error statuses and codes comes from writeError's own
// table, so a new kind shows up in the document by itself.
func TestErrorResponsesCoverEveryKind(t *testing.T) {
	_, doc := oaServedDocument(t)
	responses := oaObj(doc, "components", "responses")
	for kind, status := range statusOf {
		r := oaObj(responses, oaErrorResponseName(status))
		if r == nil {
			t.Errorf("kind %s (status %d) has no component response %s", kind, status, oaErrorResponseName(status))
			continue
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), strconv.Quote(kind.String())) {
			t.Errorf("component response %s does not list code %q", oaErrorResponseName(status), kind)
		}
	}
}
