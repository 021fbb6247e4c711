package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// multipartOverhead is what a multipart upload may add to the file's own
// bytes (boundaries and part headers) within the route's body limit.
const multipartOverhead = 64 << 10

// fileIdleTimeout is how long an upload or download may make no progress
// before its connection is closed; a transfer that keeps moving has no
// overall deadline, whatever the server's own timeouts.
const fileIdleTimeout = 2 * time.Minute

// fileDownloadCSP replaces the API's policy on file content: whatever a
// file holds (HTML, SVG), a browser that renders it runs nothing.
const fileDownloadCSP = "default-src 'none'; sandbox"

// uploadLimit is the body limit of POST /api/v1/files.
func (a *api) uploadLimit() int64 {
	if a.files == nil {
		return maxBody
	}
	return a.files.MaxSize() + multipartOverhead
}

// failTooLarge answers 413 in the common error shape.
func (a *api) failTooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: ErrorDetail{
		Code:      "too_large",
		Message:   "the file is larger than this server's limit of " + strconv.FormatInt(a.files.MaxSize(), 10) + " bytes (files.max_size)",
		RequestID: perimeter.RequestIDFrom(r.Context()),
	}})
}

// uploadBody reads the request body, turning the body limit's error into a
// *files.TooLargeError and keeping the connection's read deadline a
// fileIdleTimeout ahead while bytes arrive.
type uploadBody struct {
	r        io.Reader
	limit    int64
	rc       *http.ResponseController
	extended time.Time
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.extended) > time.Second {
		_ = b.rc.SetReadDeadline(now.Add(fileIdleTimeout)) // ErrNotSupported: nothing to extend
		b.extended = now
	}
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return n, &files.TooLargeError{Limit: b.limit}
	}
	return n, err
}

// attachment reads the record a file is attached to: X-Record:
// <collection>/<record id>, or the query ?collection=&record=.
func attachment(r *http.Request) (collection, record string, err error) {
	const op = "httpapi.attachment"
	q := r.URL.Query()
	if h := strings.TrimSpace(r.Header.Get("X-Record")); h != "" {
		if q.Get("collection") != "" || q.Get("record") != "" {
			return "", "", errs.E(errs.Invalid, op, "name the record once: X-Record header or collection/record query, not both")
		}
		c, id, ok := strings.Cut(h, "/")
		if !ok || c == "" || id == "" {
			return "", "", errs.E(errs.Invalid, op, "X-Record must be <collection>/<record id>")
		}
		return c, id, nil
	}
	return q.Get("collection"), q.Get("record"), nil
}

// uploadFile takes the file as the raw body (name in X-Filename, type in
// Content-Type) or as the part named "file" of a multipart/form-data body,
// streamed: never buffered whole, never spilled to disk.
func (a *api) uploadFile(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.uploadFile"
	if r.ContentLength > a.uploadLimit() {
		a.failTooLarge(w, r)
		return
	}
	collection, record, err := attachment(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := &uploadBody{r: r.Body, limit: a.files.MaxSize(), rc: http.NewResponseController(w)}
	defer func() { _ = body.rc.SetReadDeadline(time.Time{}) }()
	in := files.Upload{Collection: collection, Record: record}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		r.Body = io.NopCloser(body)
		mr, err := r.MultipartReader()
		if err != nil {
			a.fail(w, r, errs.E(errs.Invalid, op, "the multipart body cannot be read: "+err.Error()))
			return
		}
		part, err := mr.NextPart()
		if err != nil {
			if errors.As(err, new(*files.TooLargeError)) {
				a.failTooLarge(w, r)
				return
			}
			a.fail(w, r, errs.E(errs.Invalid, op, "the multipart body holds no part named \"file\""))
			return
		}
		defer part.Close()
		if part.FormName() != "file" {
			a.fail(w, r, errs.E(errs.Invalid, op, "the multipart body must hold one part, named \"file\"; the first is named "+strconv.Quote(part.FormName())))
			return
		}
		in.Name, in.ContentType, in.Body = part.FileName(), part.Header.Get("Content-Type"), part
	} else {
		name := r.Header.Get("X-Filename")
		if strings.Contains(name, "%") {
			// Percent-encoded UTF-8, for clients that cannot send it raw.
			if dec, err := url.PathUnescape(name); err == nil {
				name = dec
			}
		}
		if name == "" {
			a.fail(w, r, errs.E(errs.Invalid, op, "the X-Filename header is required with a raw body (or send multipart/form-data with a part named \"file\")"))
			return
		}
		in.Name, in.ContentType, in.Body = name, r.Header.Get("Content-Type"), body
	}
	f, err := a.files.Upload(r.Context(), authOf(r.Context()).Principal, in)
	if err != nil {
		if errors.As(err, new(*files.TooLargeError)) {
			a.failTooLarge(w, r)
			return
		}
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/files/"+f.ID)
	w.Header().Set("ETag", fileETag(f))
	writeJSON(w, http.StatusCreated, f)
}

func fileETag(f files.File) string { return `"` + f.SHA256 + `"` }

func (a *api) listFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := files.ListOptions{Cursor: q.Get("cursor"), Collection: q.Get("collection")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > files.MaxLimit {
			a.fail(w, r, errs.E(errs.Invalid, "httpapi.listFiles", "limit: must be a number from 1 to "+strconv.Itoa(files.MaxLimit)))
			return
		}
		opts.Limit = n
	}
	page, err := a.files.List(r.Context(), authOf(r.Context()).Principal, opts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *api) fileMeta(w http.ResponseWriter, r *http.Request) {
	f, err := a.files.Stat(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", fileETag(f))
	writeJSON(w, http.StatusOK, f)
}

func (a *api) deleteFile(w http.ResponseWriter, r *http.Request) {
	if err := a.files.Delete(r.Context(), authOf(r.Context()).Principal, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// downloadFile streams the plaintext, or one byte range of it (206). Bytes
// leave only after the part holding them authenticated. If a part fails
// once the status line has gone out, the response is aborted, so the
// client sees a broken transfer rather than a short or altered file.
func (a *api) downloadFile(w http.ResponseWriter, r *http.Request) {
	d, err := a.files.Open(r.Context(), authOf(r.Context()).Principal, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag := fileETag(d.File)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Last-Modified", d.CreatedAt.UTC().Format(http.TimeFormat))
	h.Set("Content-Disposition", contentDisposition(d.Name))
	h.Set("Content-Security-Policy", fileDownloadCSP)
	h.Set("Cache-Control", "private, no-store")

	status, offset, length := http.StatusOK, int64(0), d.Size
	if spec := r.Header.Get("Range"); spec != "" && ifRangeMatches(r, etag) {
		start, n, ok, satisfiable := parseRange(spec, d.Size)
		switch {
		case ok && !satisfiable:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(d.Size, 10))
			writeJSON(w, http.StatusRequestedRangeNotSatisfiable, ErrorBody{Error: ErrorDetail{
				Code: "range_not_satisfiable", Message: "the range lies outside the file of " + strconv.FormatInt(d.Size, 10) + " bytes",
				RequestID: perimeter.RequestIDFrom(r.Context())}})
			return
		case ok:
			status, offset, length = http.StatusPartialContent, start, n
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(d.Size, 10))
		}
	}
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	out := &lazyWriter{w: w, status: status, rc: http.NewResponseController(w)}
	defer func() { _ = out.rc.SetWriteDeadline(time.Time{}) }()
	err = d.WriteRange(r.Context(), out, offset, length)
	switch {
	case err == nil && !out.started:
		w.WriteHeader(status) // an empty body
	case err != nil && !out.started:
		h.Del("Content-Length")
		h.Del("Content-Range")
		h.Del("Content-Disposition")
		a.fail(w, r, err)
	case err != nil:
		if r.Context().Err() == nil && !out.writeFailed {
			a.log.ErrorContext(r.Context(), "file download aborted after the headers were sent",
				"request_id", perimeter.RequestIDFrom(r.Context()), "file", d.ID, "kind", errs.KindOf(err).String(), "err", err)
		}
		panic(http.ErrAbortHandler) // the client sees a broken transfer, never a short file
	}
}

// lazyWriter sends the status line with the first byte, so an integrity
// failure of the first part is still a proper error response, and keeps the
// write deadline a fileIdleTimeout ahead while bytes leave.
type lazyWriter struct {
	w           http.ResponseWriter
	status      int
	rc          *http.ResponseController
	started     bool
	writeFailed bool
	extended    time.Time
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(l.extended) > time.Second {
		_ = l.rc.SetWriteDeadline(now.Add(fileIdleTimeout))
		l.extended = now
	}
	if !l.started {
		l.started = true
		l.w.WriteHeader(l.status)
	}
	n, err := l.w.Write(p)
	if err != nil {
		l.writeFailed = true
	}
	return n, err
}

// ifRangeMatches applies If-Range: a Range is honoured only if the file is
// still the one the client saw (its ETag; dates are not precise enough).
func ifRangeMatches(r *http.Request, etag string) bool {
	v := strings.TrimSpace(r.Header.Get("If-Range"))
	return v == "" || v == etag
}

// parseRange reads a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
// ok is false for anything else (several ranges, other units, bad syntax),
// which is answered with the whole file as RFC 9110 allows; satisfiable is
// false when the range lies outside the file (416).
func parseRange(spec string, size int64) (start, length int64, ok, satisfiable bool) {
	v, found := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !found || strings.Contains(v, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(v), "-")
	if !found {
		return 0, 0, false, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch {
	case first == "": // the last n bytes
		n, good := num(last)
		if !good {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(n, size)
		return size - n, n, true, true
	default:
		a, good := num(first)
		if !good {
			return 0, 0, false, false
		}
		end := size - 1
		if last != "" {
			b, good := num(last)
			if !good || b < a {
				return 0, 0, false, false
			}
			end = min(b, size-1)
		}
		if a >= size {
			return 0, 0, true, false
		}
		return a, end - a + 1, true, true
	}
}

// contentDisposition is "attachment" with the name twice: an ASCII
// fallback with anything unsafe replaced, and the exact UTF-8 name as an
// RFC 8187 filename*. The name cannot break out of the header.
func contentDisposition(name string) string {
	var fallback, exact strings.Builder
	for _, c := range name {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%' {
			fallback.WriteRune(c)
		} else {
			fallback.WriteByte('_')
		}
	}
	const attrChar = "!#$&+-.^_`|~"
	for _, b := range []byte(name) {
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte(attrChar, b) >= 0 {
			exact.WriteByte(b)
		} else {
			exact.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(b)|0x100, 16)[1:]))
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + exact.String()
}
