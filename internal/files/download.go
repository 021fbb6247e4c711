package files

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Download is an opened file: its authenticated metadata, and the means to
// stream all or part of its content.
type Download struct {
	File
	s     *Service
	org   string
	meta  meta
	store blob.Store
}

// Stat returns a file's metadata (files.read on its collection). Errors:
// errs.NotFound for a file that does not exist in the caller's
// organization, errs.Forbidden, errs.Integrity if its stored metadata was
// tampered with.
func (s *Service) Stat(ctx context.Context, p authz.Principal, id string) (File, error) {
	d, err := s.Open(ctx, p, id)
	if err != nil {
		return File{}, err
	}
	return d.File, nil
}

// Open authenticates a file's metadata for reading (files.read on its
// collection). Errors as Stat, and errs.Unavailable when the file is kept in
// a store this server is not configured for.
func (s *Service) Open(ctx context.Context, p authz.Principal, id string) (*Download, error) {
	const op = "files.Open"
	if err := mayAny(p, authz.FilesRead); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, errNoFile(op)
	}
	var r fileRow
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		r, err = loadComplete(ctx, tx, op, p.OrgID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := can(ctx, p, authz.FilesRead, r.collection); err != nil {
		return nil, err
	}
	f, m, err := s.open(ctx, op, p.OrgID, r)
	if err != nil {
		return nil, err
	}
	st := s.stores[r.store]
	if st == nil {
		return nil, errs.E(errs.Unavailable, op, "the file is kept in "+r.store+" storage, which this server is not configured to reach")
	}
	return &Download{File: f, s: s, org: p.OrgID, meta: m, store: st}, nil
}

// WriteRange writes length bytes of the plaintext from offset to w, one
// authenticated part at a time: bytes of a part reach w only after that
// part was authenticated. A read of the whole file also checks its SHA-256
// at the end. The caller checks that the range lies within the file.
// Errors: errs.Integrity when a part was altered, moved, reordered, cut off
// or is missing, or the whole file's digest does not match; errs.Invalid
// for a range outside the file; whatever w returns.
func (d *Download) WriteRange(ctx context.Context, w io.Writer, offset, length int64) error {
	const op = "files.Read"
	if offset < 0 || length < 0 || offset+length > d.Size {
		return errs.E(errs.Invalid, op, "range outside the file")
	}
	whole := offset == 0 && length == d.Size
	var h hash.Hash
	if whole {
		h = sha256.New()
	}
	ps := d.meta.PartSize
	first, lastPart := offset/ps, (offset+length-1)/ps
	if length == 0 {
		if !whole {
			return nil
		}
		first, lastPart = 0, 0 // an empty file: authenticate its one empty part
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the prefetcher when the writer gives up
	next := d.prefetch(ctx, first, lastPart)
	for index := first; index <= lastPart; index++ {
		res := <-next
		if res.err != nil {
			return res.err
		}
		pt := res.plain
		lo, hi := int64(0), int64(len(pt))
		if index == first {
			lo = offset - index*ps
		}
		if index == lastPart && length > 0 {
			hi = offset + length - index*ps
		}
		if h != nil {
			h.Write(pt)
		}
		if _, err := w.Write(pt[lo:hi]); err != nil {
			return err
		}
	}
	if h != nil {
		want, err := hex.DecodeString(d.meta.SHA256)
		if err != nil || subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
			return errs.E(errs.Integrity, op, "the file's content does not match its recorded SHA-256")
		}
	}
	return nil
}

type partResult struct {
	plain []byte
	err   error
}

// prefetch fetches and authenticates parts first..last in order on one
// goroutine, one part ahead of the writer, so storage, decryption and the
// network overlap. It stops at the first error or when ctx ends.
func (d *Download) prefetch(ctx context.Context, first, last int64) <-chan partResult {
	out := make(chan partResult, 1)
	go func() {
		defer close(out)
		for index := first; index <= last; index++ {
			pt, err := d.part(ctx, index)
			select {
			case out <- partResult{pt, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// part fetches and authenticates one part and checks its length.
func (d *Download) part(ctx context.Context, index int64) ([]byte, error) {
	const op = "files.Read"
	ct, err := d.store.Get(ctx, d.org, d.ID, index)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.E(errs.Integrity, op, "a part of the file is missing", err)
		}
		return nil, err
	}
	lastIndex := d.meta.Parts - 1
	pt, err := d.s.keys.Decrypt(ctx, d.org, ct, partAD(d.ID, index, index == lastIndex))
	if err != nil {
		return nil, err
	}
	want := d.meta.PartSize
	if index == lastIndex {
		want = d.meta.Size - lastIndex*d.meta.PartSize
	}
	if int64(len(pt)) != want {
		return nil, errs.E(errs.Integrity, op, "a part of the file has the wrong length")
	}
	return pt, nil
}
