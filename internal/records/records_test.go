package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

type env struct {
	db   *store.DB
	svc  *records.Service
	orgA string
	orgB string
	a    authz.Principal // owner of org A
	b    authz.Principal // owner of org B
}

var ctx = context.Background()

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }
	k := testutil.NewKernel(t, db, now)
	e := &env{db: db, svc: records.New(db, k.Keys, k.Audit, now), orgA: "org-a", orgB: "org-b"}
	k.CreateOrg(t, db, e.orgA, e.orgA)
	k.CreateOrg(t, db, e.orgB, e.orgB)
	e.a = owner(e.orgA, "alice")
	e.b = owner(e.orgB, "bob")
	return e
}

func owner(org, user string) authz.Principal {
	return authz.Principal{UserID: user, OrgID: org, Kind: authz.KindUser, Roles: []authz.Role{{Name: authz.RoleOwner, Builtin: true}}}
}

func (e *env) collection(t *testing.T, spec records.CollectionSpec) {
	t.Helper()
	if _, err := e.svc.CreateCollection(ctx, e.a, spec); err != nil {
		t.Fatalf("create collection %s: %v", spec.Name, err)
	}
}

func (e *env) create(t *testing.T, p authz.Principal, coll, data string) records.Record {
	t.Helper()
	r, err := e.svc.Create(ctx, p, coll, json.RawMessage(data))
	if err != nil {
		t.Fatalf("create in %s: %v", coll, err)
	}
	return r
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != k {
		t.Fatalf("error = %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("data = %s, want %s", gb, wb)
	}
}

func TestCRUDRoundTrip(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		r := e.create(t, e.a, "notes", `{"title":"hello","n":1.50,"tags":["a"]}`)
		if r.Version != 1 || r.ID == "" || r.CreatedBy != "user:alice" || r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) {
			t.Fatalf("created %+v", r)
		}
		got, err := e.svc.Get(ctx, e.a, "notes", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, got.Data, `{"title":"hello","n":1.50,"tags":["a"]}`)
		if got.Version != 1 || got.ID != r.ID || got.CreatedBy != r.CreatedBy {
			t.Fatalf("got %+v", got)
		}
		rep, err := e.svc.Replace(ctx, e.a, "notes", r.ID, json.RawMessage(`{"title":"bye"}`), 1)
		if err != nil || rep.Version != 2 {
			t.Fatalf("replace: %+v %v", rep, err)
		}
		got, _ = e.svc.Get(ctx, e.a, "notes", r.ID)
		jsonEqual(t, got.Data, `{"title":"bye"}`)
		if err := e.svc.Delete(ctx, e.a, "notes", r.ID, 2); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Get(ctx, e.a, "notes", r.ID)
		wantKind(t, err, errs.NotFound)

		for name, data := range map[string]string{
			"an array":      `[1,2]`,
			"a scalar":      `"x"`,
			"invalid JSON":  `{"a":`,
			"trailing data": `{} {}`,
			"too large":     `{"a":"` + strings.Repeat("x", records.MaxDataSize) + `"}`,
		} {
			_, err := e.svc.Create(ctx, e.a, "notes", json.RawMessage(data))
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("create with %s: %v, want invalid", name, err)
			}
		}
		_, err = e.svc.Create(ctx, e.a, "nope", json.RawMessage(`{}`))
		wantKind(t, err, errs.NotFound)
	})
}

func TestCollections(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes", IndexedFields: []string{"ref"}})
		_, err := e.svc.CreateCollection(ctx, e.a, records.CollectionSpec{Name: "notes"})
		wantKind(t, err, errs.Exists)
		for name, spec := range map[string]records.CollectionSpec{
			"bad name":          {Name: "Notes"},
			"too many fields":   {Name: "x", IndexedFields: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
			"duplicate field":   {Name: "x", IndexedFields: []string{"a", "a"}},
			"invalid schema":    {Name: "x", Schema: json.RawMessage(`{"type":"nonsense"}`)},
			"schema not JSON":   {Name: "x", Schema: json.RawMessage(`{`)},
			"external $ref":     {Name: "x", Schema: json.RawMessage(`{"$ref":"file:///etc/passwd"}`)},
			"schema not object": {Name: "x", Schema: json.RawMessage(`[]`)},
		} {
			_, err := e.svc.CreateCollection(ctx, e.a, spec)
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		c, err := e.svc.GetCollection(ctx, e.a, "notes")
		if err != nil || c.Name != "notes" || len(c.IndexedFields) != 1 {
			t.Fatalf("get: %+v %v", c, err)
		}
		list, err := e.svc.ListCollections(ctx, e.a)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %+v %v", list, err)
		}
		if l, err := e.svc.ListCollections(ctx, e.b); err != nil || len(l) != 0 {
			t.Fatalf("org B sees collections of A: %+v %v", l, err)
		}
		_, err = e.svc.GetCollection(ctx, e.b, "notes")
		wantKind(t, err, errs.NotFound)
		r := e.create(t, e.a, "notes", `{"ref":"x"}`)
		wantKind(t, e.svc.DeleteCollection(ctx, e.a, "notes"), errs.Conflict)
		if err := e.svc.Delete(ctx, e.a, "notes", r.ID, 0); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteCollection(ctx, e.a, "notes"); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.DeleteCollection(ctx, e.a, "notes"), errs.NotFound)
	})
}

func TestVersionsAndPreconditions(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		r := e.create(t, e.a, "notes", `{"a":1}`)
		_, err := e.svc.Replace(ctx, e.a, "notes", r.ID, json.RawMessage(`{"a":2}`), 7)
		wantKind(t, err, errs.Precondition)
		if msg := errs.SafeMessage(err); msg != "record version is 1, not 7" {
			t.Fatalf("message %q", msg)
		}
		r2, err := e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"a":2}`), 1)
		if err != nil || r2.Version != 2 {
			t.Fatalf("patch: %+v %v", r2, err)
		}
		// The first writer's version is stale now.
		_, err = e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"a":3}`), 1)
		wantKind(t, err, errs.Precondition)
		wantKind(t, e.svc.Delete(ctx, e.a, "notes", r.ID, 1), errs.Precondition)
		r3, err := e.svc.Replace(ctx, e.a, "notes", r.ID, json.RawMessage(`{"a":4}`), 0)
		if err != nil || r3.Version != 3 {
			t.Fatalf("unconditional replace: %+v %v", r3, err)
		}
		got, _ := e.svc.Get(ctx, e.a, "notes", r.ID)
		if got.Version != 3 {
			t.Fatalf("version %d", got.Version)
		}
		if err := e.svc.Delete(ctx, e.a, "notes", r.ID, 3); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMergePatchSemantics(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		r := e.create(t, e.a, "notes", `{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}`)
		// The example of RFC 7386, section 3.
		got, err := e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}`
		jsonEqual(t, got.Data, want)
		stored, _ := e.svc.Get(ctx, e.a, "notes", r.ID)
		jsonEqual(t, stored.Data, want)
		got, err = e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"content":null,"author":"Jane"}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, got.Data, `{"title":"Hello!","author":"Jane","tags":["example"],"phoneNumber":"+01-123-456-7890"}`)
		_, err = e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`[1]`), 0)
		wantKind(t, err, errs.Invalid)
	})
}

func TestSchemaViolationNamesTheField(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "invoices", Schema: json.RawMessage(`{
			"type":"object","required":["ref"],
			"properties":{"ref":{"type":"string"},"amount":{"type":"number","minimum":0},
			"lines":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer"}}}}}}`)})
		r := e.create(t, e.a, "invoices", `{"ref":"INV-1","amount":10}`)
		cases := []struct{ data, field, rule string }{
			{`{"ref":"INV-2","amount":-5}`, `"/amount"`, "minimum"},
			{`{"ref":7}`, `"/ref"`, "type"},
			{`{"ref":"x","lines":[{"qty":1},{"qty":"two"}]}`, `"/lines/1/qty"`, "type"},
			{`{"amount":1}`, `"/ref"`, "required"},
		}
		for _, c := range cases {
			_, err := e.svc.Create(ctx, e.a, "invoices", json.RawMessage(c.data))
			wantKind(t, err, errs.Unprocessable)
			msg := errs.SafeMessage(err)
			t.Logf("%s -> %s", c.data, msg)
			if !strings.Contains(msg, "field "+c.field) || !strings.Contains(msg, c.rule) {
				t.Errorf("create %s: message %q should name field %s and rule %s", c.data, msg, c.field, c.rule)
			}
		}
		_, err := e.svc.Replace(ctx, e.a, "invoices", r.ID, json.RawMessage(`{"ref":"INV-1","amount":-1}`), 0)
		wantKind(t, err, errs.Unprocessable)
		_, err = e.svc.Patch(ctx, e.a, "invoices", r.ID, json.RawMessage(`{"ref":null}`), 0)
		wantKind(t, err, errs.Unprocessable)
		if !strings.Contains(errs.SafeMessage(err), "required") {
			t.Errorf("patch message %q", errs.SafeMessage(err))
		}
		got, _ := e.svc.Get(ctx, e.a, "invoices", r.ID)
		if got.Version != 1 {
			t.Fatalf("a rejected write changed the record: %+v", got)
		}
	})
}

func TestListPaginatesEachRecordOnceInOrder(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		created := map[string]bool{}
		for i := range 1000 {
			created[e.create(t, e.a, "notes", fmt.Sprintf(`{"i":%d}`, i)).ID] = true
		}
		seen := map[string]bool{}
		cursor, pages := "", 0
		var lastAt time.Time
		lastID := ""
		for {
			page, err := e.svc.List(ctx, e.a, "notes", records.ListOptions{Limit: 100, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range page.Items {
				if seen[r.ID] {
					t.Fatalf("record %s listed twice", r.ID)
				}
				if r.CreatedAt.Before(lastAt) || (r.CreatedAt.Equal(lastAt) && r.ID <= lastID) {
					t.Fatalf("out of order: %s after %s", r.ID, lastID)
				}
				lastAt, lastID = r.CreatedAt, r.ID
				seen[r.ID] = true
			}
			if page.NextCursor == "" {
				break
			}
			if len(page.Items) != 100 {
				t.Fatalf("short page %d with a cursor", len(page.Items))
			}
			cursor = page.NextCursor
		}
		if len(seen) != 1000 || pages != 10 {
			t.Fatalf("saw %d records in %d pages", len(seen), pages)
		}
		for id := range created {
			if !seen[id] {
				t.Fatalf("record %s never listed", id)
			}
		}
		for _, o := range []records.ListOptions{{Limit: 201}, {Limit: -1}, {Cursor: "!!"}} {
			_, err := e.svc.List(ctx, e.a, "notes", o)
			wantKind(t, err, errs.Invalid)
		}
		page, err := e.svc.List(ctx, e.a, "notes", records.ListOptions{})
		if err != nil || len(page.Items) != records.DefaultLimit {
			t.Fatalf("default limit: %d %v", len(page.Items), err)
		}
	})
}

func TestWhereUsesTheBlindIndex(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "invoices", IndexedFields: []string{"ref", "n"}})
		want := map[string]bool{}
		for i := range 30 {
			ref := fmt.Sprintf("R-%d", i%3)
			r := e.create(t, e.a, "invoices", fmt.Sprintf(`{"ref":%q,"n":%d,"other":"R-1"}`, ref, i%5))
			if ref == "R-1" {
				want[r.ID] = true
			}
		}
		page, err := e.svc.List(ctx, e.a, "invoices", records.ListOptions{Limit: 200, Where: map[string]string{"ref": "R-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != len(want) {
			t.Fatalf("found %d records, want %d", len(page.Items), len(want))
		}
		for _, r := range page.Items {
			if !want[r.ID] {
				t.Fatalf("unexpected record %s: %s", r.ID, r.Data)
			}
		}
		// Two conditions intersect; numbers match in any spelling.
		page, err = e.svc.List(ctx, e.a, "invoices", records.ListOptions{Limit: 200, Where: map[string]string{"ref": "R-1", "n": "2.0"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 2 { // i in {7, 22}
			t.Fatalf("ref=R-1 and n=2: %d records", len(page.Items))
		}
		// A patch moves the record in the index.
		moved := page.Items[0]
		if _, err := e.svc.Patch(ctx, e.a, "invoices", moved.ID, json.RawMessage(`{"ref":"R-9"}`), 0); err != nil {
			t.Fatal(err)
		}
		page, _ = e.svc.List(ctx, e.a, "invoices", records.ListOptions{Where: map[string]string{"ref": "R-9"}})
		if len(page.Items) != 1 || page.Items[0].ID != moved.ID {
			t.Fatalf("after patch: %+v", page.Items)
		}
		page, _ = e.svc.List(ctx, e.a, "invoices", records.ListOptions{Where: map[string]string{"ref": "nothing"}})
		if len(page.Items) != 0 {
			t.Fatalf("no match expected, got %d", len(page.Items))
		}
		_, err = e.svc.List(ctx, e.a, "invoices", records.ListOptions{Where: map[string]string{"other": "R-1"}})
		wantKind(t, err, errs.Invalid)
		// The index holds no plaintext.
		var n int
		if err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM record_index WHERE org_id = ?", e.orgA).Scan(&n)
		}); err != nil || n != 60 {
			t.Fatalf("index rows %d %v", n, err)
		}
	})
}

func TestCollectionLimitedRole(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		e.collection(t, records.CollectionSpec{Name: "invoices"})
		note := e.create(t, e.a, "notes", `{"a":1}`)
		inv := e.create(t, e.a, "invoices", `{"a":2}`)
		reader := authz.Principal{UserID: "nora", OrgID: e.orgA, Kind: authz.KindUser, Roles: []authz.Role{
			{Name: "notes-reader", Permissions: []authz.Permission{authz.RecordsRead}, Collections: []string{"notes"}}}}
		if _, err := e.svc.Get(ctx, reader, "notes", note.ID); err != nil {
			t.Fatal(err)
		}
		if p, err := e.svc.List(ctx, reader, "notes", records.ListOptions{}); err != nil || len(p.Items) != 1 {
			t.Fatalf("list notes: %v", err)
		}
		_, err := e.svc.Get(ctx, reader, "invoices", inv.ID)
		wantKind(t, err, errs.Forbidden)
		_, err = e.svc.List(ctx, reader, "invoices", records.ListOptions{})
		wantKind(t, err, errs.Forbidden)
		_, err = e.svc.Create(ctx, reader, "notes", json.RawMessage(`{}`))
		wantKind(t, err, errs.Forbidden)
		_, err = e.svc.Patch(ctx, reader, "notes", note.ID, json.RawMessage(`{"a":3}`), 0)
		wantKind(t, err, errs.Forbidden)
		wantKind(t, e.svc.Delete(ctx, reader, "notes", note.ID, 0), errs.Forbidden)
		_, err = e.svc.CreateCollection(ctx, reader, records.CollectionSpec{Name: "mine"})
		wantKind(t, err, errs.Forbidden)
		cs, err := e.svc.ListCollections(ctx, reader)
		if err != nil || len(cs) != 1 || cs[0].Name != "notes" {
			t.Fatalf("reader's collections: %+v %v", cs, err)
		}
		_, err = e.svc.Get(ctx, authz.Principal{}, "notes", note.ID)
		wantKind(t, err, errs.Unauthorized)
	})
}

func TestCrossTenantIsNotFound(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes", IndexedFields: []string{"ref"}})
		if _, err := e.svc.CreateCollection(ctx, e.b, records.CollectionSpec{Name: "notes", IndexedFields: []string{"ref"}}); err != nil {
			t.Fatal(err)
		}
		a := e.create(t, e.a, "notes", `{"ref":"shared"}`)
		missing := "00000000-0000-4000-8000-000000000000"
		_, errMissing := e.svc.Get(ctx, e.b, "notes", missing)
		wantKind(t, errMissing, errs.NotFound)
		_, err := e.svc.Get(ctx, e.b, "notes", a.ID)
		wantKind(t, err, errs.NotFound)
		if errs.SafeMessage(err) != errs.SafeMessage(errMissing) || errs.SafeMessage(err) != "no such record" {
			t.Fatalf("messages differ: %q vs %q", errs.SafeMessage(err), errs.SafeMessage(errMissing))
		}
		_, err = e.svc.Replace(ctx, e.b, "notes", a.ID, json.RawMessage(`{"ref":"x"}`), 0)
		wantKind(t, err, errs.NotFound)
		_, err = e.svc.Patch(ctx, e.b, "notes", a.ID, json.RawMessage(`{"ref":"x"}`), 1)
		wantKind(t, err, errs.NotFound)
		wantKind(t, e.svc.Delete(ctx, e.b, "notes", a.ID, 0), errs.NotFound)
		// Another collection of the same org does not find it either.
		e.collection(t, records.CollectionSpec{Name: "other"})
		_, err = e.svc.Get(ctx, e.a, "other", a.ID)
		wantKind(t, err, errs.NotFound)
		for _, o := range []records.ListOptions{{}, {Where: map[string]string{"ref": "shared"}}} {
			p, err := e.svc.List(ctx, e.b, "notes", o)
			if err != nil || len(p.Items) != 0 {
				t.Fatalf("org B lists %d of A's records: %v", len(p.Items), err)
			}
		}
		// None of those attempts changed A's record.
		got, err := e.svc.Get(ctx, e.a, "notes", a.ID)
		if err != nil || got.Version != 1 {
			t.Fatalf("A's record changed: %+v %v", got, err)
		}
	})
}

func TestTamperedBodiesFailIntegrity(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		r1 := e.create(t, e.a, "notes", `{"a":"one"}`)
		r2 := e.create(t, e.a, "notes", `{"a":"two"}`)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.Exec(ctx, q, args...)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		body := func(id string) []byte {
			var b []byte
			if err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT body FROM records WHERE id = ?", id).Scan(&b)
			}); err != nil {
				t.Fatal(err)
			}
			return b
		}
		b1, b2 := body(r1.ID), body(r2.ID)

		// Swap bodies between two rows.
		exec("UPDATE records SET body = ? WHERE id = ?", b2, r1.ID)
		exec("UPDATE records SET body = ? WHERE id = ?", b1, r2.ID)
		for _, id := range []string{r1.ID, r2.ID} {
			_, err := e.svc.Get(ctx, e.a, "notes", id)
			wantKind(t, err, errs.Integrity)
		}
		_, err := e.svc.List(ctx, e.a, "notes", records.ListOptions{})
		wantKind(t, err, errs.Integrity)
		exec("UPDATE records SET body = ? WHERE id = ?", b1, r1.ID)
		exec("UPDATE records SET body = ? WHERE id = ?", b2, r2.ID)
		if _, err := e.svc.Get(ctx, e.a, "notes", r1.ID); err != nil {
			t.Fatal(err)
		}

		// Flip one byte.
		flipped := bytes.Clone(b1)
		flipped[len(flipped)-5] ^= 0x01
		exec("UPDATE records SET body = ? WHERE id = ?", flipped, r1.ID)
		_, err = e.svc.Get(ctx, e.a, "notes", r1.ID)
		wantKind(t, err, errs.Integrity)
		// Writes refuse to build on a tampered record too.
		_, err = e.svc.Patch(ctx, e.a, "notes", r1.ID, json.RawMessage(`{"b":1}`), 0)
		wantKind(t, err, errs.Integrity)

		// Rolling the version back or forward breaks the binding as well.
		exec("UPDATE records SET version = 2 WHERE id = ?", r2.ID)
		_, err = e.svc.Get(ctx, e.a, "notes", r2.ID)
		wantKind(t, err, errs.Integrity)
	})
}

func TestAuditHasEventsButNoValues(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const secret = "plaintext-canary-7f3a"
		e.collection(t, records.CollectionSpec{Name: "notes", IndexedFields: []string{"ref"}})
		r := e.create(t, e.a, "notes", `{"ref":"`+secret+`","body":"`+secret+`"}`)
		if _, err := e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"body":"`+secret+`2"}`), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Replace(ctx, e.a, "notes", r.ID, json.RawMessage(`{"ref":"`+secret+`3"}`), 0); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx, e.a, "notes", r.ID, 0); err != nil {
			t.Fatal(err)
		}
		type row struct{ action, target, details string }
		var rows []row
		err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			rs, err := tx.Query(ctx, "SELECT action, target, details FROM audit_events WHERE org_id = ? ORDER BY seq", e.orgA)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var x row
				if err := rs.Scan(&x.action, &x.target, &x.details); err != nil {
					return err
				}
				rows = append(rows, x)
			}
			return rs.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, x := range rows {
			actions = append(actions, x.action)
			if strings.Contains(x.details, secret) || strings.Contains(x.target, secret) {
				t.Fatalf("audit entry %s holds a field value: %s", x.action, x.details)
			}
		}
		if got := strings.Join(actions, ","); got != "collection.create,record.create,record.patch,record.replace,record.delete" {
			t.Fatalf("actions %s", got)
		}
		if rows[1].target != "record:notes/"+r.ID || !strings.Contains(rows[1].details, `"fields":["body","ref"]`) || !strings.Contains(rows[1].details, `"version":1`) {
			t.Fatalf("create entry %+v", rows[1])
		}
	})
}

func TestSQLiteFileHoldsNoPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rampart.db")
	db, err := store.Open(ctx, store.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db)
	const secret = "known-plaintext-4b1d9e"
	e.collection(t, records.CollectionSpec{Name: "notes", IndexedFields: []string{"ref"}})
	r := e.create(t, e.a, "notes", `{"ref":"`+secret+`","note":"`+secret+`"}`)
	if _, err := e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(`{"extra":"`+secret+`"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("%s contains the plaintext", filepath.Base(f))
		}
	}
}

func TestConcurrentConditionalWritesHaveOneWinner(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.collection(t, records.CollectionSpec{Name: "notes"})
		r := e.create(t, e.a, "notes", `{"n":0}`)
		const writers = 8
		results := make(chan error, writers)
		for i := range writers {
			go func() {
				_, err := e.svc.Patch(ctx, e.a, "notes", r.ID, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i+1)), 1)
				results <- err
			}()
		}
		wins := 0
		for range writers {
			err := <-results
			switch errs.KindOf(err) {
			case errs.Other:
				if err != nil {
					t.Fatal(err)
				}
				wins++
			case errs.Precondition:
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		got, err := e.svc.Get(ctx, e.a, "notes", r.ID)
		if wins != 1 || err != nil || got.Version != 2 {
			t.Fatalf("%d winners, version %d, %v", wins, got.Version, err)
		}
	})
}
