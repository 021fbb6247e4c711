package apitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/blob/blobtest"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// send makes a request with a raw body and headers.
func (c *client) send(method, path string, body io.Reader, headers map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.in.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	return readResponse(resp)
}

func (c *client) uploadRaw(name, ctype string, data []byte, extra map[string]string) response {
	c.t.Helper()
	h := map[string]string{"X-Filename": name, "Content-Type": ctype}
	for k, v := range extra {
		h[k] = v
	}
	return c.send("POST", "/api/v1/files", bytes.NewReader(data), h)
}

func (c *client) uploadMultipart(name, ctype string, data []byte) response {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	hdr := make(map[string][]string)
	hdr["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.ReplaceAll(name, `"`, `\"`))}
	hdr["Content-Type"] = []string{ctype}
	pw, err := mw.CreatePart(hdr)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = pw.Write(data)
	_ = mw.Close()
	return c.send("POST", "/api/v1/files", &b, map[string]string{"Content-Type": mw.FormDataContentType()})
}

func fileBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7)) // #nosec G404 -- test data
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestFilesAPI(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			in := startWith(t, d, func(c *config.Config) { c.Files.MaxSize = 4 << 20 })
			seed(t, in)
			filesScenarios(t, in)
		})
	}
}

func filesScenarios(t *testing.T, in *instance) {
	owner, member, other := in.client(t), in.client(t), in.client(t)
	owner.login("acme", "owner@acme.test", pw)
	member.login("acme", "member@acme.test", pw)
	other.login("globex", "owner@globex.test", pw)
	data := fileBytes(2<<20+12345, 1) // three parts of 1 MiB

	up := member.uploadRaw("report.pdf", "application/pdf", data, nil)
	if up.status != 201 || up.body["size"] != float64(len(data)) || up.body["sha256"] != sha(data) || up.body["name"] != "report.pdf" ||
		up.body["content_type"] != "application/pdf" || up.header.Get("Location") != "/api/v1/files/"+up.body["id"].(string) {
		t.Fatalf("upload: %d %v %s", up.status, up.header, up.raw)
	}
	id := up.body["id"].(string)
	path := "/api/v1/files/" + id

	t.Run("download streams the plaintext with safe headers", func(t *testing.T) {
		r := member.send("GET", path, nil, nil)
		if r.status != 200 || r.raw != string(data) {
			t.Fatalf("download: %d, %d bytes", r.status, len(r.raw))
		}
		for k, want := range map[string]string{
			"Content-Type": "application/pdf", "Content-Length": strconv.Itoa(len(data)), "ETag": `"` + sha(data) + `"`,
			"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
			"Content-Disposition": `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("multipart upload, and a name that needs encoding", func(t *testing.T) {
		name := "Résumé \"final\"; v2.txt"
		r := owner.uploadMultipart(name, "text/plain; charset=utf-8", []byte("hello"))
		if r.status != 201 || r.body["name"] != name || r.body["content_type"] != "text/plain; charset=utf-8" {
			t.Fatalf("multipart: %d %s", r.status, r.raw)
		}
		d := owner.send("GET", "/api/v1/files/"+r.body["id"].(string), nil, nil)
		want := `attachment; filename="R_sum_ _final_; v2.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%3B%20v2.txt`
		if d.raw != "hello" || d.header.Get("Content-Disposition") != want {
			t.Fatalf("download: %q %q", d.raw, d.header.Get("Content-Disposition"))
		}
		bad := owner.send("POST", "/api/v1/files", strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n"),
			map[string]string{"Content-Type": "multipart/form-data; boundary=x"})
		if bad.status != 400 || !strings.Contains(bad.errMessage(), `named "file"`) {
			t.Fatalf("multipart without a file part: %d %s", bad.status, bad.raw)
		}
	})
	t.Run("ranges", func(t *testing.T) {
		n := len(data)
		for _, c := range []struct {
			spec      string
			from, to  int // inclusive
			wantRange bool
		}{
			{"bytes=10-19", 10, 19, true},
			{"bytes=1048570-1048600", 1048570, 1048600, true}, // across a part boundary
			{"bytes=-5", n - 5, n - 1, true},
			{"bytes=2097152-", 2097152, n - 1, true},
			{"bytes=0-99999999", 0, n - 1, true},
			{"bytes=0-1,5-6", 0, n - 1, false}, // several ranges: the whole file
			{"items=0-1", 0, n - 1, false},
		} {
			r := member.send("GET", path, nil, map[string]string{"Range": c.spec})
			want := string(data[c.from : c.to+1])
			status, cr := 200, ""
			if c.wantRange {
				status, cr = 206, fmt.Sprintf("bytes %d-%d/%d", c.from, c.to, n)
			}
			if r.status != status || r.raw != want || r.header.Get("Content-Range") != cr || r.header.Get("Content-Length") != strconv.Itoa(len(want)) {
				t.Fatalf("%s: %d %q, %d bytes", c.spec, r.status, r.header.Get("Content-Range"), len(r.raw))
			}
		}
		for _, spec := range []string{fmt.Sprintf("bytes=%d-", n), "bytes=-0"} {
			r := member.send("GET", path, nil, map[string]string{"Range": spec})
			if r.status != 416 || r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", n) || r.errCode() != "range_not_satisfiable" {
				t.Fatalf("%s: %d %v %s", spec, r.status, r.header, r.raw)
			}
		}
		stale := member.send("GET", path, nil, map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`})
		if stale.status != 200 || len(stale.raw) != n {
			t.Fatalf("If-Range with another ETag: %d", stale.status)
		}
	})
	t.Run("metadata and listing", func(t *testing.T) {
		m := member.expect(200, "GET", path+"/meta", nil)
		if m.body["sha256"] != sha(data) || m.body["name"] != "report.pdf" {
			t.Fatalf("meta: %s", m.raw)
		}
		l := member.expect(200, "GET", "/api/v1/files?limit=1", nil)
		if items := l.body["items"].([]any); len(items) != 1 || l.body["next_cursor"] == nil {
			t.Fatalf("list: %s", l.raw)
		}
		l2 := member.expect(200, "GET", "/api/v1/files?limit=1&cursor="+l.body["next_cursor"].(string), nil)
		if items := l2.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] == l.body["items"].([]any)[0].(map[string]any)["id"] {
			t.Fatalf("second page: %s", l2.raw)
		}
		member.expect(400, "GET", "/api/v1/files?limit=0", nil)
	})
	t.Run("bad uploads are refused with a reason", func(t *testing.T) {
		if r := member.send("POST", "/api/v1/files", strings.NewReader("x"), map[string]string{"Content-Type": "text/plain"}); r.status != 400 || !strings.Contains(r.errMessage(), "X-Filename") {
			t.Fatalf("no name: %d %s", r.status, r.raw)
		}
		if r := member.uploadRaw("x.txt", "text/plain", []byte("x"), map[string]string{"X-Record": "nonsense"}); r.status != 400 {
			t.Fatalf("bad X-Record: %d %s", r.status, r.raw)
		}
		if r := member.uploadRaw("x.txt", "not a type", []byte("x"), nil); r.status != 400 {
			t.Fatalf("bad type: %d %s", r.status, r.raw)
		}
	})
	t.Run("over the limit is 413, streamed or announced", func(t *testing.T) {
		big := make([]byte, 4<<20+1)
		r := member.uploadRaw("big.bin", "application/octet-stream", big, nil)
		if r.status != 413 || r.errCode() != "too_large" || !strings.Contains(r.errMessage(), "files.max_size") {
			t.Fatalf("raw over the limit: %d %s", r.status, r.raw)
		}
		// Chunked, so the limit is found while streaming.
		r = member.send("POST", "/api/v1/files", io.MultiReader(bytes.NewReader(big)), map[string]string{"X-Filename": "big.bin"})
		if r.status != 413 {
			t.Fatalf("chunked over the limit: %d %s", r.status, r.raw)
		}
		r = member.uploadMultipart("big.bin", "application/octet-stream", big)
		if r.status != 413 {
			t.Fatalf("multipart over the limit: %d %s", r.status, r.raw)
		}
		var n int
		_ = in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM files WHERE state <> 'complete'").Scan(&n)
		})
		if n != 0 {
			t.Fatalf("%d incomplete uploads left behind", n)
		}
	})
	t.Run("permissions: a token without files.write cannot upload or delete", func(t *testing.T) {
		tok := member.expect(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "reader", "permissions": []string{"files.read"}, "expires_in_seconds": 600})
		reader := in.client(t)
		reader.bearer = tok.body["token"].(string)
		if r := reader.uploadRaw("x.txt", "text/plain", []byte("x"), nil); r.status != 403 || !strings.Contains(r.errMessage(), "files.write") {
			t.Fatalf("upload: %d %s", r.status, r.raw)
		}
		if r := reader.do("DELETE", path, nil); r.status != 403 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		if r := reader.send("GET", path, nil, nil); r.status != 200 {
			t.Fatalf("read: %d", r.status)
		}
	})
	t.Run("another organization gets 404, like for a random id", func(t *testing.T) {
		random := "/api/v1/files/00000000-0000-4000-8000-000000000000"
		for _, c := range []struct{ method, suffix string }{{"GET", ""}, {"GET", "/meta"}, {"DELETE", ""}} {
			a, b := other.do(c.method, path+c.suffix, nil), other.do(c.method, random+c.suffix, nil)
			if a.status != 404 || a.status != b.status || a.errMessage() != b.errMessage() {
				t.Fatalf("%s %s: %d %s vs %d %s", c.method, c.suffix, a.status, a.raw, b.status, b.raw)
			}
		}
		if l := other.expect(200, "GET", "/api/v1/files", nil); strings.Contains(l.raw, id) {
			t.Fatalf("other org lists the file: %s", l.raw)
		}
	})
	t.Run("attachments to records", func(t *testing.T) {
		owner.expect(201, "POST", "/api/v1/collections", map[string]any{"name": "cases"})
		rec := member.doWith("POST", "/api/v1/collections/cases/records", `{"title":"x"}`, nil)
		recID := rec.body["id"].(string)
		att := member.uploadRaw("scan.png", "image/png", []byte("png"), map[string]string{"X-Record": "cases/" + recID})
		if att.status != 201 || att.body["collection"] != "cases" || att.body["record"] != recID {
			t.Fatalf("attach: %d %s", att.status, att.raw)
		}
		q := member.send("POST", "/api/v1/files?collection=cases&record="+recID, strings.NewReader("q"), map[string]string{"X-Filename": "q.txt"})
		if q.status != 201 {
			t.Fatalf("attach by query: %d %s", q.status, q.raw)
		}
		l := member.expect(200, "GET", "/api/v1/files?collection=cases", nil)
		if items := l.body["items"].([]any); len(items) != 2 {
			t.Fatalf("list attached: %s", l.raw)
		}
		// Another organization names this record: not found, like a random one.
		a := other.uploadRaw("x.txt", "text/plain", []byte("x"), map[string]string{"X-Record": "cases/" + recID})
		b := other.uploadRaw("x.txt", "text/plain", []byte("x"), map[string]string{"X-Record": "cases/00000000-0000-4000-8000-000000000000"})
		if a.status != 404 || a.raw != strings.Replace(b.raw, b.body["error"].(map[string]any)["request_id"].(string), a.body["error"].(map[string]any)["request_id"].(string), 1) {
			t.Fatalf("foreign record: %d %s vs %d %s", a.status, a.raw, b.status, b.raw)
		}
		// Deleting the record deletes its attachments, parts and all, and
		// audits each; a standalone file stays.
		alone := member.uploadRaw("alone.txt", "text/plain", []byte("alone"), nil)
		member.expect(204, "DELETE", "/api/v1/collections/cases/records/"+recID, nil)
		for _, id := range []string{att.body["id"].(string), q.body["id"].(string)} {
			member.expect(404, "GET", "/api/v1/files/"+id, nil)
			var rows, parts, audited int
			err := in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
				if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM files WHERE id = ?", id).Scan(&rows); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM file_chunks WHERE file_id = ?", id).Scan(&parts); err != nil {
					return err
				}
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE action = 'file.delete' AND target = ?", "file:"+id).Scan(&audited)
			})
			if err != nil || rows != 0 || parts != 0 || audited != 1 {
				t.Fatalf("attachment %s after its record was deleted: %d rows, %d parts, %d audit entries, %v", id, rows, parts, audited, err)
			}
		}
		member.expect(200, "GET", "/api/v1/files/"+alone.body["id"].(string)+"/meta", nil)
	})
	t.Run("a tampered part is an error, never data", func(t *testing.T) {
		for _, c := range []struct {
			part   int
			broken bool // the 200 went out: the transfer must break
		}{{0, false}, {1, true}} {
			r := member.uploadRaw("t.bin", "application/octet-stream", data, nil)
			fid := r.body["id"].(string)
			flipChunk(t, in.data.DB, fid, c.part)
			status, got, err := rawGet(member, "/api/v1/files/"+fid)
			switch {
			case !c.broken && (status != 500 || !strings.Contains(got, `"code":"integrity"`)):
				t.Fatalf("part %d: %d %q", c.part, status, got)
			case c.broken && (status != 200 || err == nil || len(got) >= len(data)):
				t.Fatalf("part %d: status %d, %d bytes, error %v: the transfer must break", c.part, status, len(got), err)
			case c.broken && got != string(data[:len(got)]):
				t.Fatalf("part %d: released bytes that differ from the file", c.part)
			}
		}
		waitForLog(t, in, "file download aborted after the headers were sent")
		// Over HTTP/2 the abort resets the stream: the client sees an error too.
		r := member.uploadRaw("t.bin", "application/octet-stream", data, nil)
		fid := r.body["id"].(string)
		flipChunk(t, in.data.DB, fid, 2)
		h2 := &http.Client{Jar: member.http.Jar, Transport: &http.Transport{TLSClientConfig: member.http.Transport.(*http.Transport).TLSClientConfig.Clone(), ForceAttemptHTTP2: true}}
		resp, err := h2.Get(in.base + "/api/v1/files/" + fid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || err == nil || len(got) != 2<<20 {
			t.Fatalf("HTTP/%d: status %d, %d bytes, error %v: the stream must be reset after the two good parts", resp.ProtoMajor, resp.StatusCode, len(got), err)
		}
	})
	t.Run("delete, then 404", func(t *testing.T) {
		member.expect(204, "DELETE", path, nil)
		member.expect(404, "GET", path, nil)
		member.expect(404, "GET", path+"/meta", nil)
		member.expect(404, "DELETE", path, nil)
	})
	t.Run("JSON answers conform to the OpenAPI document", func(t *testing.T) {
		doc := oaFetchDoc(t, in)
		up := member.uploadRaw("conform.txt", "text/plain", []byte("conform"), nil)
		doc.check(t, "POST", "/api/v1/files", nil, up)
		fp := "/api/v1/files/" + up.body["id"].(string)
		doc.check(t, "GET", fp+"/meta", nil, member.do("GET", fp+"/meta", nil))
		doc.check(t, "GET", "/api/v1/files?limit=2", nil, member.do("GET", "/api/v1/files?limit=2", nil))
		doc.check(t, "GET", fp, nil, member.send("GET", fp, nil, map[string]string{"Range": "bytes=100-"}))
		doc.check(t, "POST", "/api/v1/files", nil, member.uploadRaw("big", "text/plain", make([]byte, 4<<20+1), nil))
		doc.check(t, "GET", "/api/v1/files/00000000-0000-4000-8000-000000000000", nil, other.do("GET", "/api/v1/files/00000000-0000-4000-8000-000000000000", nil))
		doc.check(t, "DELETE", fp, nil, member.do("DELETE", fp, nil))
	})
	t.Run("the audit log names ids, never file names", func(t *testing.T) {
		a := owner.expect(200, "GET", "/api/v1/audit?action=file.", nil)
		if !strings.Contains(a.raw, "file.upload") || !strings.Contains(a.raw, "file.delete") || strings.Contains(a.raw, "report.pdf") || strings.Contains(a.raw, "scan.png") {
			t.Fatalf("audit: %s", a.raw)
		}
	})
}

// flipChunk flips one bit in the middle of a stored part, as someone with
// write access to the database could.
func flipChunk(t *testing.T, db *store.DB, fileID string, part int) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var data []byte
		if err := tx.QueryRow(ctx, "SELECT data FROM file_chunks WHERE file_id = ? AND idx = ?", fileID, part).Scan(&data); err != nil {
			return err
		}
		data[len(data)/2] ^= 0x10
		_, err := tx.Exec(ctx, "UPDATE file_chunks SET data = ? WHERE file_id = ? AND idx = ?", data, fileID, part)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawGet reads a download to its end and reports how it ended.
func rawGet(c *client, path string) (int, string, error) {
	req, _ := http.NewRequest("GET", c.in.base+path, nil)
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func waitForLog(t *testing.T, in *instance, s string) {
	t.Helper()
	for range 50 {
		if strings.Contains(in.logs.String(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the log never said %q", s)
}

// TestFilesOnS3 runs uploads and downloads against an S3-compatible server
// (gofakes3, in process) and tampers with an object there.
func TestFilesOnS3(t *testing.T) {
	s3 := blobtest.FakeS3(t)
	in := startWith(t, store.SQLite, func(c *config.Config) {
		c.Files.Store = "s3"
		c.Files.S3.Endpoint, c.Files.S3.Bucket, c.Files.S3.Region = s3.Endpoint, s3.Bucket, s3.Region
		c.Files.S3.AccessKey, c.Files.S3.SecretKey, c.Files.S3.Insecure = s3.AccessKey, s3.SecretKey, true
	})
	orgs := seed(t, in)
	member := in.client(t)
	member.login("acme", "member@acme.test", pw)
	data := fileBytes(3<<20+5, 2)
	up := member.uploadRaw("s3.bin", "application/octet-stream", data, nil)
	if up.status != 201 {
		t.Fatalf("upload: %d %s", up.status, up.raw)
	}
	id := up.body["id"].(string)
	if status, got, err := rawGet(member, "/api/v1/files/"+id); status != 200 || err != nil || got != string(data) {
		t.Fatalf("download: %d %v", status, err)
	}
	var n int
	_ = in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM file_chunks").Scan(&n)
	})
	if n != 0 {
		t.Fatalf("%d parts in the database with files.store s3", n)
	}
	direct, err := blob.NewS3(s3)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := direct.Get(context.Background(), orgs["acme"].ID, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, data[2<<20:2<<20+64]) {
		t.Fatal("the object holds plaintext")
	}
	ct[10] ^= 1
	if err := direct.Put(context.Background(), orgs["acme"].ID, id, 2, ct); err != nil {
		t.Fatal(err)
	}
	status, got, err := rawGet(member, "/api/v1/files/"+id)
	if status != 200 || err == nil || len(got) > 2<<20 {
		t.Fatalf("tampered object: %d, %d bytes, %v", status, len(got), err)
	}
	r := member.send("GET", "/api/v1/files/"+id, nil, map[string]string{"Range": "bytes=2097152-2097160"})
	if r.status != 500 || r.errCode() != "integrity" {
		t.Fatalf("range over the tampered part: %d %s", r.status, r.raw)
	}
	member.expect(204, "DELETE", "/api/v1/files/"+id, nil)
	if _, err := direct.Get(context.Background(), orgs["acme"].ID, id, 0); err == nil {
		t.Fatal("objects remain after delete")
	}
}

// TestFilesLargeTransferMemory uploads and downloads one large file through
// the HTTPS API and checks that memory stays bounded: the process's peak
// resident set (VmHWM, reset just before) and the Go heap. The size is
// RAMPART_TEST_LARGE_FILE (bytes, default 512 MiB); the acceptance run uses
// 2 GiB:
//
//	RAMPART_TEST_LARGE_FILE=2147483648 go test ./internal/apitest -run TestFilesLargeTransferMemory -v
func TestFilesLargeTransferMemory(t *testing.T) {
	if raceBuild {
		t.Skip("memory limits are meaningless under the race detector; run without -race")
	}
	size := int64(512 << 20)
	if v := os.Getenv("RAMPART_TEST_LARGE_FILE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("RAMPART_TEST_LARGE_FILE=%q is not a byte count", v)
		}
		size = n
	}
	const limit = 200 << 20
	in := start(t, store.SQLite)
	seed(t, in)
	member := in.client(t)
	member.login("acme", "member@acme.test", pw)
	hc := &http.Client{Transport: member.http.Transport, Jar: member.http.Jar} // no overall timeout

	runtime.GC()
	resetPeakRSS(t)
	var heapPeak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the Go heap while the transfer runs
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > heapPeak.Load() {
				heapPeak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	src := &patternReader{left: size, h: sha256.New()}
	req, _ := http.NewRequest("POST", in.base+"/api/v1/files", src)
	req.ContentLength = size
	req.Header.Set("X-Filename", "large.bin")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	up := readResponse(resp)
	resp.Body.Close()
	want := hex.EncodeToString(src.h.Sum(nil))
	if up.status != 201 || up.body["sha256"] != want || up.body["size"] != float64(size) {
		t.Fatalf("upload: %d %s", up.status, up.raw)
	}
	uploaded := time.Since(start)

	start = time.Now()
	req, _ = http.NewRequest("GET", in.base+"/api/v1/files/"+up.body["id"].(string), nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want || resp.StatusCode != 200 {
		t.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	downloaded := time.Since(start)
	close(stop)
	<-sampled

	hwm := peakRSS(t)
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	t.Logf("%d MiB over HTTPS (SQLite): upload %.1fs (%.0f MB/s), download %.1fs (%.0f MB/s); peak RSS of the whole test process %.0f MiB, peak Go heap %.0f MiB",
		size>>20, uploaded.Seconds(), float64(size)/1e6/uploaded.Seconds(), downloaded.Seconds(), float64(size)/1e6/downloaded.Seconds(), mb(hwm), mb(heapPeak.Load()))
	if hwm > limit {
		t.Errorf("peak resident memory %.0f MiB exceeds %d MiB", mb(hwm), limit>>20)
	}
	if heapPeak.Load() > limit {
		t.Errorf("peak Go heap %.0f MiB exceeds %d MiB", mb(heapPeak.Load()), limit>>20)
	}
}

// patternReader produces size bytes of varied content without holding
// them, hashing what it produced.
type patternReader struct {
	left  int64
	block []byte
	off   int
	h     hash.Hash
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if p.block == nil {
		p.block = fileBytes(1<<20+7, 3) // odd length: no two parts alike
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	p.left -= int64(n)
	_, _ = p.h.Write(b[:n])
	return n, nil
}

// resetPeakRSS resets the kernel's peak resident set counter (VmHWM).
func resetPeakRSS(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS counter: %v", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
