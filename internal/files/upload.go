package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Upload stores a new file from in.Body (files.write on the attachment's
// collection, or on every collection for a standalone file; attaching also
// needs records.read on the record). It reads the body one part at a time
// and holds about four parts in memory at most (one being read, one queued,
// two being stored), whatever the file's size. The file becomes visible
// only when the whole body was stored. Errors: errs.Invalid for a bad name,
// content type or attachment, or a body that could not be read; an error
// wrapping *TooLargeError past MaxSize; errs.NotFound for a record that does
// not exist (or is another organization's); errs.Forbidden.
func (s *Service) Upload(ctx context.Context, p authz.Principal, in Upload) (File, error) {
	const op = "files.Upload"
	if err := can(ctx, p, authz.FilesWrite, in.Collection); err != nil {
		return File{}, err
	}
	if (in.Collection == "") != (in.Record == "") {
		return File{}, errs.E(errs.Invalid, op, "an attachment names both a collection and a record id")
	}
	if in.Collection != "" {
		if s.records == nil {
			return File{}, errs.E(errs.Invalid, op, "attaching files to records is not available")
		}
		if _, err := s.records.Get(ctx, p, in.Collection, in.Record); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return File{}, errs.E(errs.NotFound, op, "no such record")
			}
			return File{}, err
		}
	}
	name, err := cleanName(op, in.Name)
	if err != nil {
		return File{}, err
	}
	ctype, err := cleanType(op, in.ContentType)
	if err != nil {
		return File{}, err
	}

	id := uuid.NewString()
	now := s.now().UnixMicro()
	st := s.target
	// The row exists from the first part on, in state uploading, so that a
	// crash leaves something CleanupIncomplete can find; it is never read.
	err = s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO files (org_id, id, state, store, size, part_size, parts, collection, record_id, created_at, created_by)
			VALUES (?, ?, ?, ?, 0, ?, 0, ?, ?, ?, ?)`, p.OrgID, id, stateUploading, st.Kind(), s.partSize, in.Collection, in.Record, now, actorOf(p))
		if err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return File{}, err
	}
	size, parts, sum, err := s.storeParts(ctx, p.OrgID, id, in.Body)
	if err != nil {
		s.discard(p.OrgID, id)
		return File{}, err
	}
	m := meta{Name: name, ContentType: ctype, SHA256: sum, Size: size, PartSize: int64(s.partSize), Parts: parts,
		Collection: in.Collection, Record: in.Record}
	plain, err := json.Marshal(m)
	if err != nil {
		s.discard(p.OrgID, id)
		return File{}, errs.E(op, err)
	}
	sealed, err := s.keys.Encrypt(ctx, p.OrgID, plain, metaAD(id))
	if err != nil {
		s.discard(p.OrgID, id)
		return File{}, err
	}
	details := map[string]any{"id": id, "size": size, "parts": parts, "store": st.Kind()}
	if in.Collection != "" {
		details["collection"], details["record"] = in.Collection, in.Record
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE files SET state = ?, size = ?, parts = ?, meta = ? WHERE org_id = ? AND id = ? AND state = ?",
			stateComplete, size, parts, sealed, p.OrgID, id, stateUploading)
		if err != nil {
			return dbErr(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			// The janitor took it: the upload ran past its deadline.
			return errs.E(errs.Conflict, op, "the upload took too long and was discarded; retry")
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: "file.upload", Target: "file:" + id,
			Outcome: audit.Success, Details: details})
		return err
	})
	if err != nil {
		s.discard(p.OrgID, id)
		return File{}, err
	}
	return File{ID: id, Name: name, ContentType: ctype, Size: size, SHA256: sum, Collection: in.Collection, Record: in.Record,
		CreatedAt: fromMicros(now), CreatedBy: actorOf(p)}, nil
}

// storeWorkers is how many parts are stored at once: two let the database's
// group commit make both durable with one sync, and keep two S3 requests in
// flight.
const storeWorkers = 2

// storeParts reads body to its end, encrypting and storing one part at a
// time; a second goroutine stores part n while part n+1 is read and
// encrypted. It returns the plaintext size, the part count and the hex
// SHA-256 of the plaintext.
func (s *Service) storeParts(ctx context.Context, org, id string, body io.Reader) (size, parts int64, sum string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type part struct {
		index int64
		data  []byte
	}
	queue := make(chan part, 1)
	stored := make(chan error, storeWorkers)
	for range storeWorkers {
		go func() {
			var err error
			for pt := range queue {
				if err == nil {
					if err = s.target.Put(ctx, org, id, pt.index, pt.data); err != nil {
						cancel() // stop reading the body: nothing more can be stored
					}
				}
			}
			stored <- err
		}()
	}
	size, parts, sum, err = s.readParts(ctx, org, id, body, func(index int64, data []byte) { queue <- part{index, data} })
	close(queue)
	var perr error
	for range storeWorkers {
		if e := <-stored; e != nil && perr == nil {
			perr = e
		}
	}
	if perr != nil {
		return 0, 0, "", perr
	}
	return size, parts, sum, err
}

// readParts splits body into parts and hands each, encrypted, to emit. The
// size limit counts plaintext bytes; one byte is read ahead so the last
// part is known to be the last when it is sealed.
func (s *Service) readParts(ctx context.Context, org, id string, body io.Reader, emit func(int64, []byte)) (int64, int64, string, error) {
	const op = "files.Upload"
	limited := io.LimitReader(body, s.maxSize+1)
	h := sha256.New()
	buf := make([]byte, s.partSize)
	var total int64
	var carry []byte
	var ahead [1]byte
	for index := int64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, "", errs.E(errs.Unavailable, op, "upload stopped", err)
		}
		n := copy(buf, carry)
		carry = nil
		m, err := io.ReadFull(limited, buf[n:])
		n += m
		last := false
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		case err != nil:
			return 0, 0, "", readErr(op, err)
		default:
			k, err := io.ReadFull(limited, ahead[:])
			switch {
			case errors.Is(err, io.EOF):
				last = true
			case err != nil:
				return 0, 0, "", readErr(op, err)
			default:
				carry = ahead[:k]
			}
		}
		total += int64(n)
		if total+int64(len(carry)) > s.maxSize {
			return 0, 0, "", errs.E(errs.Invalid, op, (&TooLargeError{Limit: s.maxSize}).Error(), &TooLargeError{Limit: s.maxSize})
		}
		h.Write(buf[:n])
		sealed, err := s.keys.Encrypt(ctx, org, buf[:n], partAD(id, index, last))
		if err != nil {
			return 0, 0, "", err
		}
		emit(index, sealed)
		if last {
			return total, index + 1, hex.EncodeToString(h.Sum(nil)), nil
		}
	}
}

func readErr(op string, err error) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return errs.E(errs.Invalid, op, tl.Error(), tl)
	}
	return errs.E(errs.Invalid, op, "the upload was interrupted: the request body could not be read to its end", err)
}

// discard removes what a failed upload stored, on its own context: the
// request's may be over. Whatever it cannot remove, CleanupIncomplete does.
func (s *Service) discard(org, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_ = s.removeFile(ctx, org, id, s.target)
}
