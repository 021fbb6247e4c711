package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/blob/blobtest"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

var ctx = context.Background()

const partSize = 4 << 10 // small parts, so small test files have many

type env struct {
	db      *store.DB
	svc     *files.Service
	recs    *records.Service
	target  blob.Store
	a, b    authz.Principal // owners of org A and B
	member  authz.Principal // member of A
	auditor authz.Principal // auditor of A: no files.*
	clock   *time.Time
}

func newEnv(t testing.TB, db *store.DB, target blob.Store, maxSize int64) *env {
	t.Helper()
	return newEnvParts(t, db, target, maxSize, partSize)
}

func newEnvParts(t testing.TB, db *store.DB, target blob.Store, maxSize int64, parts int) *env {
	t.Helper()
	clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := &env{db: db, clock: &clock}
	now := func() time.Time { return *e.clock }
	k := testutil.NewKernel(t, db, now)
	k.CreateOrg(t, db, "org-a", "org-a")
	k.CreateOrg(t, db, "org-b", "org-b")
	e.recs = records.New(db, k.Keys, k.Audit, now)
	if target == nil {
		target = blob.NewDatabase(db)
	}
	e.target = target
	svc, err := files.New(db, k.Keys, k.Audit, e.recs, target, now, files.Options{MaxSize: maxSize, PartSize: parts})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.a = principal("org-a", "alice", authz.RoleOwner)
	e.b = principal("org-b", "bob", authz.RoleOwner)
	e.member = principal("org-a", "mallory", authz.RoleMember)
	e.auditor = principal("org-a", "audrey", authz.RoleAuditor)
	return e
}

func principal(org, user, role string) authz.Principal {
	return authz.Principal{UserID: user, OrgID: org, Kind: authz.KindUser, Roles: []authz.Role{{Name: role, Builtin: true}}}
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != k {
		t.Fatalf("error = %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed)) // #nosec G404 -- test data
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (e *env) upload(t *testing.T, p authz.Principal, name string, data []byte) files.File {
	t.Helper()
	f, err := e.svc.Upload(ctx, p, files.Upload{Name: name, ContentType: "text/plain", Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return f
}

func (e *env) read(p authz.Principal, id string, off, n int64) ([]byte, error) {
	d, err := e.svc.Open(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = d.Size - off
	}
	var buf bytes.Buffer
	err = d.WriteRange(ctx, &buf, off, n)
	return buf.Bytes(), err
}

// chunkSQL runs one statement on the raw tables, as someone with database
// access would.
func (e *env) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := e.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestFiles(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) { suite(t, newEnv(t, db, nil, 1<<20)) })
}

func TestFilesOnS3(t *testing.T) {
	s3, err := blob.NewS3(blobtest.FakeS3(t))
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.OpenDB(t, store.SQLite)
	suite(t, newEnv(t, db, s3, 1<<20))
}

func suite(t *testing.T, e *env) {
	t.Run("round trip at every interesting size", func(t *testing.T) {
		for _, n := range []int{0, 1, partSize - 1, partSize, partSize + 1, 3 * partSize, 3*partSize + 17} {
			data := randomBytes(n, uint64(n)+1)
			f := e.upload(t, e.a, "report.bin", data)
			sum := sha256.Sum256(data)
			if f.Size != int64(n) || f.SHA256 != hex.EncodeToString(sum[:]) || f.Name != "report.bin" || f.ContentType != "text/plain; charset=utf-8" && f.ContentType != "text/plain" {
				t.Fatalf("size %d: upload answered %+v", n, f)
			}
			got, err := e.read(e.a, f.ID, 0, -1)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("size %d: read %d bytes, %v", n, len(got), err)
			}
		}
	})

	data := randomBytes(5*partSize+123, 42)
	f := e.upload(t, e.a, "../../etc/Quarterly report.pdf", data)

	t.Run("the name keeps its last path element only", func(t *testing.T) {
		if f.Name != "Quarterly report.pdf" {
			t.Fatalf("name %q", f.Name)
		}
	})
	t.Run("ranges read only what they cover", func(t *testing.T) {
		for _, r := range [][2]int64{{0, 1}, {partSize - 1, 2}, {partSize, partSize}, {3*partSize + 5, 2*partSize + 118 - 5}, {int64(len(data)) - 1, 1}, {7, 0}} {
			got, err := e.read(e.a, f.ID, r[0], r[1])
			if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
				t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
			}
		}
		d, _ := e.svc.Open(ctx, e.a, f.ID)
		wantKind(t, d.WriteRange(ctx, io.Discard, int64(len(data)), 1), errs.Invalid)
	})
	t.Run("stat and list show metadata", func(t *testing.T) {
		st, err := e.svc.Stat(ctx, e.member, f.ID)
		if err != nil || st.Name != f.Name || st.SHA256 != f.SHA256 || st.Size != f.Size {
			t.Fatalf("stat: %+v %v", st, err)
		}
		page, err := e.svc.List(ctx, e.a, files.ListOptions{Limit: 3})
		if err != nil || len(page.Items) != 3 || page.NextCursor == "" {
			t.Fatalf("list: %+v %v", page, err)
		}
		all := page.Items
		for page.NextCursor != "" {
			if page, err = e.svc.List(ctx, e.a, files.ListOptions{Limit: 3, Cursor: page.NextCursor}); err != nil {
				t.Fatal(err)
			}
			all = append(all, page.Items...)
		}
		if len(all) != 8 {
			t.Fatalf("listed %d files, want 8", len(all))
		}
		_, err = e.svc.List(ctx, e.a, files.ListOptions{Cursor: "garbage"})
		wantKind(t, err, errs.Invalid)
	})
	t.Run("another organization cannot tell the file exists", func(t *testing.T) {
		_, err := e.svc.Open(ctx, e.b, f.ID)
		wantKind(t, err, errs.NotFound)
		_, err2 := e.svc.Open(ctx, e.b, "00000000-0000-4000-8000-000000000000")
		if errs.SafeMessage(err) != errs.SafeMessage(err2) {
			t.Fatalf("foreign %q vs random %q", errs.SafeMessage(err), errs.SafeMessage(err2))
		}
		wantKind(t, e.svc.Delete(ctx, e.b, f.ID), errs.NotFound)
		page, _ := e.svc.List(ctx, e.b, files.ListOptions{})
		if len(page.Items) != 0 {
			t.Fatalf("B lists A's files: %+v", page)
		}
	})
	t.Run("permissions", func(t *testing.T) {
		_, err := e.svc.Open(ctx, e.auditor, f.ID)
		wantKind(t, err, errs.Forbidden)
		_, err = e.svc.Upload(ctx, e.auditor, files.Upload{Name: "x", Body: strings.NewReader("x")})
		wantKind(t, err, errs.Forbidden)
		wantKind(t, e.svc.Delete(ctx, e.auditor, f.ID), errs.Forbidden)
		limited := authz.Principal{UserID: "lim", OrgID: "org-a", Kind: authz.KindUser,
			Roles: []authz.Role{{Name: "notes-only", Permissions: []authz.Permission{authz.FilesRead, authz.FilesWrite, authz.RecordsRead}, Collections: []string{"notes"}}}}
		_, err = e.svc.Open(ctx, limited, f.ID) // standalone: needs every collection
		wantKind(t, err, errs.Forbidden)
		_, err = e.svc.List(ctx, limited, files.ListOptions{})
		wantKind(t, err, errs.Forbidden)
		if _, err := e.svc.List(ctx, limited, files.ListOptions{Collection: "notes"}); err != nil {
			t.Fatalf("list own collection: %v", err)
		}
	})
	t.Run("bad input is refused before anything is stored", func(t *testing.T) {
		for _, in := range []files.Upload{
			{Name: "", Body: strings.NewReader("x")},
			{Name: "a\nb", Body: strings.NewReader("x")},
			{Name: strings.Repeat("n", 256), Body: strings.NewReader("x")},
			{Name: "x", ContentType: "not a type", Body: strings.NewReader("x")},
			{Name: "x", Collection: "notes", Body: strings.NewReader("x")},
		} {
			_, err := e.svc.Upload(ctx, e.a, in)
			wantKind(t, err, errs.Invalid)
		}
	})
	t.Run("a file over the limit is refused and leaves nothing", func(t *testing.T) {
		before := e.count(t, "SELECT COUNT(*) FROM files")
		_, err := e.svc.Upload(ctx, e.a, files.Upload{Name: "big", Body: bytes.NewReader(make([]byte, 1<<20+1))})
		var tl *files.TooLargeError
		if !errorsAs(err, &tl) || errs.KindOf(err) != errs.Invalid {
			t.Fatalf("over the limit: %v", err)
		}
		if _, err := e.svc.Upload(ctx, e.a, files.Upload{Name: "exact", Body: bytes.NewReader(make([]byte, 1<<20))}); err != nil {
			t.Fatalf("exactly the limit: %v", err)
		}
		if after := e.count(t, "SELECT COUNT(*) FROM files"); after != before+1 {
			t.Fatalf("files: %d before, %d after", before, after)
		}
	})
	t.Run("attachments need a record the caller can read", func(t *testing.T) {
		if _, err := e.recs.CreateCollection(ctx, e.a, records.CollectionSpec{Name: "notes"}); err != nil {
			t.Fatal(err)
		}
		rec, err := e.recs.Create(ctx, e.a, "notes", json.RawMessage(`{"t":1}`))
		if err != nil {
			t.Fatal(err)
		}
		att, err := e.svc.Upload(ctx, e.a, files.Upload{Name: "scan.png", ContentType: "image/png", Collection: "notes", Record: rec.ID, Body: strings.NewReader("png")})
		if err != nil || att.Collection != "notes" || att.Record != rec.ID {
			t.Fatalf("attach: %+v %v", att, err)
		}
		_, err = e.svc.Upload(ctx, e.b, files.Upload{Name: "x", Collection: "notes", Record: rec.ID, Body: strings.NewReader("x")})
		wantKind(t, err, errs.NotFound)
		_, err = e.svc.Upload(ctx, e.a, files.Upload{Name: "x", Collection: "notes", Record: "00000000-0000-4000-8000-000000000000", Body: strings.NewReader("x")})
		wantKind(t, err, errs.NotFound)
		page, err := e.svc.List(ctx, e.a, files.ListOptions{Collection: "notes"})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != att.ID {
			t.Fatalf("list notes: %+v %v", page, err)
		}
	})
	t.Run("audit entries name the file, never its name or content", func(t *testing.T) {
		dump := strings.Join(e.rows(t, "SELECT action, target, details FROM audit_events WHERE org_id = ? AND action LIKE 'file.%'", "org-a"), "\n")
		if !strings.Contains(dump, "file.upload") || !strings.Contains(dump, f.ID) {
			t.Fatalf("audit: %s", dump)
		}
		if strings.Contains(dump, "Quarterly") || strings.Contains(dump, "report") || strings.Contains(dump, "scan.png") {
			t.Fatalf("audit holds a file name: %s", dump)
		}
	})
	t.Run("the database holds no plaintext", func(t *testing.T) {
		known := []byte("the secret plan: attack at dawn, bring snacks")
		k := e.upload(t, e.a, "plan-of-attack.txt", bytes.Repeat(known, 300))
		dump := strings.Join(e.rows(t, "SELECT * FROM files"), "\n") + strings.Join(e.rows(t, "SELECT * FROM file_chunks"), "\n")
		for _, needle := range []string{hex.EncodeToString(known[:16]), hex.EncodeToString([]byte("plan-of-attack")), k.SHA256} {
			if strings.Contains(dump, needle) {
				t.Fatalf("the database holds %q", needle)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		g := e.upload(t, e.a, "tmp.txt", randomBytes(3*partSize, 7))
		wantKind(t, e.svc.Delete(ctx, e.member, "not-a-uuid"), errs.NotFound)
		if err := e.svc.Delete(ctx, e.member, g.ID); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Open(ctx, e.a, g.ID)
		wantKind(t, err, errs.NotFound)
		wantKind(t, e.svc.Delete(ctx, e.a, g.ID), errs.NotFound)
		if _, err := e.target.Get(ctx, "org-a", g.ID, 0); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("part after delete: %v", err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM audit_events WHERE action = 'file.delete'"); n != 1 {
			t.Fatalf("%d delete entries", n)
		}
	})
	tamper(t, e)
	t.Run("an upload cut short is invisible and cleaned up", func(t *testing.T) {
		before := e.count(t, "SELECT COUNT(*) FROM files WHERE state = 'complete'")
		_, err := e.svc.Upload(ctx, e.a, files.Upload{Name: "cut", Body: io.MultiReader(bytes.NewReader(make([]byte, 3*partSize)), errReader{})})
		wantKind(t, err, errs.Invalid)
		if n := e.count(t, "SELECT COUNT(*) FROM files WHERE state <> 'complete'"); n != 0 {
			t.Fatalf("%d incomplete rows after a failed upload", n)
		}
		// A crash between parts: a row in state uploading with parts stored.
		id := "11111111-1111-4111-8111-111111111111"
		e.exec(t, "INSERT INTO files (org_id, id, state, store, part_size, collection, record_id, created_at, created_by) VALUES (?, ?, 'uploading', ?, ?, '', '', ?, 'user:x')",
			"org-a", id, e.target.Kind(), partSize, e.clock.UnixMicro())
		if err := e.target.Put(ctx, "org-a", id, 0, []byte("orphan")); err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.CleanupIncomplete(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("cleanup of a fresh upload: %d %v", n, err)
		}
		*e.clock = e.clock.Add(2 * time.Hour)
		if n, err := e.svc.CleanupIncomplete(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("cleanup: %d %v", n, err)
		}
		if _, err := e.target.Get(ctx, "org-a", id, 0); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("orphan part: %v", err)
		}
		if after := e.count(t, "SELECT COUNT(*) FROM files WHERE state = 'complete'"); after != before {
			t.Fatalf("complete files %d -> %d", before, after)
		}
	})
	t.Run("purging an organization removes all of its files and nothing else", func(t *testing.T) {
		bf := e.upload(t, e.b, "b.txt", []byte("bee"))
		af := e.upload(t, e.a, "a.txt", []byte("ay"))
		if err := e.svc.PurgeOrg(ctx, "org-a"); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM files WHERE org_id = 'org-a'"); n != 0 {
			t.Fatalf("%d rows of the purged org", n)
		}
		if _, err := e.target.Get(ctx, "org-a", af.ID, 0); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("part of the purged org: %v", err)
		}
		if got, err := e.read(e.b, bf.ID, 0, -1); err != nil || string(got) != "bee" {
			t.Fatalf("other org's file: %q %v", got, err)
		}
	})
}

// tamper alters stored parts and rows as someone with write access to the
// database or the bucket could, and expects integrity errors, never data.
func tamper(t *testing.T, e *env) {
	data := randomBytes(4*partSize+100, 99)
	t.Run("a flipped byte in a part fails the read of that part", func(t *testing.T) {
		f := e.upload(t, e.a, "t1", data)
		ct, _ := e.target.Get(ctx, "org-a", f.ID, 2)
		ct[len(ct)/2] ^= 1
		if err := e.target.Put(ctx, "org-a", f.ID, 2, ct); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		d, _ := e.svc.Open(ctx, e.a, f.ID)
		err := d.WriteRange(ctx, &buf, 0, d.Size)
		wantKind(t, err, errs.Integrity)
		if buf.Len() != 2*partSize || !bytes.Equal(buf.Bytes(), data[:2*partSize]) {
			t.Fatalf("released %d bytes before the failure, want exactly the %d authenticated ones", buf.Len(), 2*partSize)
		}
		if _, err := e.read(e.a, f.ID, 0, partSize); err != nil {
			t.Fatalf("a range before the damage: %v", err)
		}
		_, err = e.read(e.a, f.ID, 2*partSize+1, 10)
		wantKind(t, err, errs.Integrity)
	})
	t.Run("swapped, reordered, moved or missing parts fail", func(t *testing.T) {
		f := e.upload(t, e.a, "t2", data)
		g := e.upload(t, e.a, "t3", data) // same content, another file
		p1, _ := e.target.Get(ctx, "org-a", f.ID, 1)
		p2, _ := e.target.Get(ctx, "org-a", f.ID, 2)
		_ = e.target.Put(ctx, "org-a", f.ID, 1, p2)
		_ = e.target.Put(ctx, "org-a", f.ID, 2, p1)
		_, err := e.read(e.a, f.ID, 0, -1)
		wantKind(t, err, errs.Integrity)

		g1, _ := e.target.Get(ctx, "org-a", g.ID, 0)
		h := e.upload(t, e.a, "t4", data)
		_ = e.target.Put(ctx, "org-a", h.ID, 0, g1) // a part of another file
		_, err = e.read(e.a, h.ID, 0, 10)
		wantKind(t, err, errs.Integrity)

		k := e.upload(t, e.a, "t5", data)
		b := e.upload(t, e.b, "t5", data)
		bp, _ := e.target.Get(ctx, "org-b", b.ID, 0)
		_ = e.target.Put(ctx, "org-a", k.ID, 0, bp) // a part of another organization
		_, err = e.read(e.a, k.ID, 0, 10)
		wantKind(t, err, errs.Integrity)

		m := e.upload(t, e.a, "t6", data)
		if err := e.target.Delete(ctx, "org-a", m.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.read(e.a, m.ID, 0, -1)
		wantKind(t, err, errs.Integrity)
	})
	t.Run("a truncated file fails even when its row is made to agree", func(t *testing.T) {
		f := e.upload(t, e.a, "t7", data)
		// Drop the last part and make the columns say the file is shorter:
		// the metadata still says otherwise.
		e.exec(t, "UPDATE files SET size = ?, parts = ? WHERE id = ?", 4*partSize, 4, f.ID)
		_, err := e.svc.Open(ctx, e.a, f.ID)
		wantKind(t, err, errs.Integrity)
		// Move a whole metadata blob from a shorter file: bound to its id.
		short := e.upload(t, e.a, "t8", data[:4*partSize])
		e.exec(t, "UPDATE files SET meta = (SELECT meta FROM files WHERE id = ?) WHERE id = ?", short.ID, f.ID)
		_, err = e.svc.Open(ctx, e.a, f.ID)
		wantKind(t, err, errs.Integrity)
	})
	t.Run("moving a file to a collection changes nothing it can be read through", func(t *testing.T) {
		f := e.upload(t, e.a, "t9", data)
		e.exec(t, "UPDATE files SET collection = 'notes' WHERE id = ?", f.ID)
		_, err := e.svc.Open(ctx, e.a, f.ID)
		wantKind(t, err, errs.Integrity)
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, q, args...).Scan(&n)
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rows dumps query results, bytes in hex.
func (e *env) rows(t *testing.T, q string, args ...any) []string {
	t.Helper()
	var out []string
	err := e.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				return err
			}
			var b strings.Builder
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.WriteString(hex.EncodeToString(raw))
					b.WriteString("|")
					b.Write(raw)
				} else {
					b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(toString(v), "\n", " "), "\r", " ")))
				}
				b.WriteByte('|')
			}
			out = append(out, b.String())
		}
		return rs.Err()
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
