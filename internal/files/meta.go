package files

import (
	"context"
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// meta is the encrypted part of a file's row.
type meta struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PartSize    int64  `json:"part_size"`
	Parts       int64  `json:"parts"`
	Collection  string `json:"collection"`
	Record      string `json:"record"`
}

// fileRow is a stored file before its metadata is decrypted.
type fileRow struct {
	id, state, store   string
	size, partSize     int64
	parts              int64
	meta               []byte
	collection, record string
	createdAt          int64
	createdBy          string
}

const rowColumns = "id, state, store, size, part_size, parts, meta, collection, record_id, created_at, created_by"

func scanRow(sc interface{ Scan(...any) error }) (fileRow, error) {
	var r fileRow
	err := sc.Scan(&r.id, &r.state, &r.store, &r.size, &r.partSize, &r.parts, &r.meta, &r.collection, &r.record, &r.createdAt, &r.createdBy)
	return r, err
}

// loadComplete reads a readable file of org.
func loadComplete(ctx context.Context, tx *store.Tx, op, org, id string) (fileRow, error) {
	r, err := scanRow(tx.QueryRow(ctx, "SELECT "+rowColumns+" FROM files WHERE org_id = ? AND id = ? AND state = ?", org, id, stateComplete))
	switch {
	case store.IsNoRows(err):
		return fileRow{}, errNoFile(op)
	case err != nil:
		return fileRow{}, dbErr(op, err)
	}
	return r, nil
}

// open decrypts a row's metadata and checks that the plaintext columns
// agree with it. errs.Integrity when the metadata was altered or moved, or a
// column was changed.
func (s *Service) open(ctx context.Context, op, org string, r fileRow) (File, meta, error) {
	pt, err := s.keys.Decrypt(ctx, org, r.meta, metaAD(r.id))
	if err != nil {
		return File{}, meta{}, err
	}
	var m meta
	if err := json.Unmarshal(pt, &m); err != nil {
		return File{}, meta{}, errs.E(errs.Integrity, op, "stored file metadata is malformed", err)
	}
	if m.Size != r.size || m.PartSize != r.partSize || m.Parts != r.parts || m.Collection != r.collection || m.Record != r.record ||
		m.PartSize <= 0 || m.Parts != partsFor(m.Size, m.PartSize) {
		return File{}, meta{}, errs.E(errs.Integrity, op, "stored file row does not match its authenticated metadata")
	}
	return File{ID: r.id, Name: m.Name, ContentType: m.ContentType, Size: m.Size, SHA256: m.SHA256,
		Collection: m.Collection, Record: m.Record, CreatedAt: fromMicros(r.createdAt), CreatedBy: r.createdBy}, m, nil
}

// partsFor is how many parts a file of size bytes has: at least one, so an
// empty file still has an authenticated last part.
func partsFor(size, partSize int64) int64 {
	if size == 0 {
		return 1
	}
	return (size + partSize - 1) / partSize
}

// cleanName keeps the last path element of a client's file name and refuses
// names that cannot be shown safely.
func cleanName(op, name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "." || name == "..":
		return "", errs.E(errs.Invalid, op, "a file name is required (X-Filename header, or the filename of the multipart part)")
	case len(name) > MaxNameBytes:
		return "", errs.E(errs.Invalid, op, "the file name is longer than 255 bytes")
	case !utf8.ValidString(name):
		return "", errs.E(errs.Invalid, op, "the file name is not valid UTF-8")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' {
			return "", errs.E(errs.Invalid, op, "the file name contains control characters")
		}
	}
	return name, nil
}

// cleanType normalizes a content type; empty means application/octet-stream.
func cleanType(op, ct string) (string, error) {
	if strings.TrimSpace(ct) == "" {
		return "application/octet-stream", nil
	}
	if len(ct) > MaxTypeBytes {
		return "", errs.E(errs.Invalid, op, "the content type is longer than 255 bytes")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "", errs.E(errs.Invalid, op, "the content type is not a media type like text/plain")
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "", errs.E(errs.Invalid, op, "the content type is not a media type like text/plain")
	}
	return out, nil
}
