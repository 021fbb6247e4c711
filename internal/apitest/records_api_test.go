package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/testutil"
)

// doWith sends a request with extra headers and a raw JSON body.
func (c *client) doWith(method, path, body string, headers map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.in.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	return readResponse(resp)
}

func TestRecordsAPI(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			in := start(t, d)
			seed(t, in)
			owner, member, other := in.client(t), in.client(t), in.client(t)
			owner.login("acme", "owner@acme.test", pw)
			member.login("acme", "member@acme.test", pw)
			other.login("globex", "owner@globex.test", pw)

			member.expect(403, "POST", "/api/v1/collections", map[string]any{"name": "notes"})
			owner.expect(201, "POST", "/api/v1/collections", map[string]any{
				"name": "notes", "indexed_fields": []string{"ref"},
				"schema": map[string]any{"type": "object", "required": []string{"title"},
					"properties": map[string]any{"title": map[string]any{"type": "string"}, "ref": map[string]any{"type": "string"}}},
			})
			bad := member.doWith("POST", "/api/v1/collections/notes/records", `{"ref":"A-1"}`, nil)
			if bad.status != 422 || !strings.Contains(bad.errMessage(), "title") {
				t.Fatalf("schema violation: %d %s", bad.status, bad.raw)
			}
			created := member.doWith("POST", "/api/v1/collections/notes/records", `{"title":"patient notes","ref":"A-1"}`, nil)
			if created.status != 201 || created.header.Get("ETag") != `"1"` {
				t.Fatalf("create: %d %v %s", created.status, created.header, created.raw)
			}
			id := created.body["id"].(string)
			path := "/api/v1/collections/notes/records/" + id
			got := member.expect(200, "GET", path, nil)
			if got.body["data"].(map[string]any)["title"] != "patient notes" {
				t.Fatalf("get: %s", got.raw)
			}
			if r := member.doWith("PATCH", path, `{"title":"updated","ref":null}`, map[string]string{"If-Match": `"1"`}); r.status != 200 || r.header.Get("ETag") != `"2"` {
				t.Fatalf("patch: %d %s", r.status, r.raw)
			}
			if r := member.doWith("PUT", path, `{"title":"stale"}`, map[string]string{"If-Match": `"1"`}); r.status != 412 {
				t.Fatalf("stale If-Match: %d %s", r.status, r.raw)
			}
			member.doWith("POST", "/api/v1/collections/notes/records", `{"title":"second","ref":"B-2"}`, nil)
			page := member.expect(200, "GET", "/api/v1/collections/notes/records?where[ref]=B-2", nil)
			if items := page.body["items"].([]any); len(items) != 1 {
				t.Fatalf("where[ref]: %s", page.raw)
			}
			// Another organization cannot see or touch it, and cannot tell it exists.
			for _, r := range []response{
				other.do("GET", path, nil),
				other.doWith("PUT", path, `{"title":"x"}`, nil),
				other.do("DELETE", path, nil),
				other.do("GET", "/api/v1/collections/notes/records", nil),
			} {
				if r.status != 404 {
					t.Fatalf("other org: %d %s", r.status, r.raw)
				}
			}
			member.expect(204, "DELETE", path, nil)
			member.expect(404, "GET", path, nil)
			// The audit log names fields, never values.
			audit := owner.expect(200, "GET", "/api/v1/audit?action=record.", nil)
			if strings.Contains(audit.raw, "patient notes") || !strings.Contains(audit.raw, "record.create") {
				t.Fatalf("audit: %s", audit.raw)
			}
		})
	}
}
