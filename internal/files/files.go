package files

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/store"
)

// Limits and defaults.
const (
	DefaultMaxSize  = 5 << 30 // bytes of one file (files.max_size)
	DefaultPartSize = 1 << 20 // plaintext bytes of one part
	MinPartSize     = 4 << 10
	MaxPartSize     = 8 << 20 // so a part's ciphertext stays under blob.MaxPartBytes
	MaxNameBytes    = 255     // file name, in bytes of UTF-8
	MaxTypeBytes    = 255     // content type
	DefaultLimit    = 50      // List page size when none is given
	MaxLimit        = 200     // largest List page
)

// File is a stored file's metadata.
type File struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"` // hex, of the plaintext
	Collection  string    `json:"collection,omitempty"`
	Record      string    `json:"record,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// Upload is what Upload takes.
type Upload struct {
	Name        string // shown in downloads; required
	ContentType string // empty means application/octet-stream
	// Collection and Record attach the file to a record the caller can
	// read; both empty means a standalone file.
	Collection, Record string
	// Body is read to its end. An error it returns that wraps a
	// *TooLargeError is reported as such (the HTTP layer's body limit).
	Body io.Reader
}

// ListOptions selects a page of files.
type ListOptions struct {
	Limit      int    // 1..MaxLimit; 0 means DefaultLimit
	Cursor     string // opaque, from a previous Page.NextCursor
	Collection string // only files attached to this collection's records
}

// Page is one page of a listing, oldest first.
type Page struct {
	Items      []File `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// TooLargeError says an upload exceeded the size limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the file is larger than the limit of %d bytes", e.Limit)
}

// RecordReader is what attaching a file needs from the records service:
// the record exists in the caller's organization and the caller may read it.
type RecordReader interface {
	Get(ctx context.Context, p authz.Principal, collection, id string) (records.Record, error)
}

// Options tune a Service.
type Options struct {
	MaxSize  int64 // 0 means DefaultMaxSize
	PartSize int   // 0 means DefaultPartSize; MinPartSize..MaxPartSize
	// ReadStores are further stores that files written earlier may live in
	// (a file is read from the store named in its row). The database store
	// is always one of them.
	ReadStores []blob.Store
}

// Service implements files on the store, the key manager and a blob store.
type Service struct {
	db       *store.DB
	keys     *keys.Manager
	audit    *audit.Log
	records  RecordReader
	target   blob.Store            // where new files go
	stores   map[string]blob.Store // by kind, for reading
	now      func() time.Time
	maxSize  int64
	partSize int
}

// New returns a Service writing new files to target (a *blob.Database over
// db, or a *blob.S3). records may be nil: attaching is then refused.
func New(db *store.DB, k *keys.Manager, a *audit.Log, recs RecordReader, target blob.Store, now func() time.Time, opts Options) (*Service, error) {
	s := &Service{db: db, keys: k, audit: a, records: recs, target: target, now: now,
		maxSize: opts.MaxSize, partSize: opts.PartSize, stores: map[string]blob.Store{}}
	if s.maxSize == 0 {
		s.maxSize = DefaultMaxSize
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.maxSize < 0 || s.partSize < MinPartSize || s.partSize > MaxPartSize {
		return nil, errs.E(errs.Invalid, "files.New", fmt.Sprintf("invalid limits: max size %d, part size %d", s.maxSize, s.partSize))
	}
	s.stores[blob.KindDatabase] = blob.NewDatabase(db)
	for _, st := range opts.ReadStores {
		s.stores[st.Kind()] = st
	}
	s.stores[target.Kind()] = target
	return s, nil
}

// MaxSize is the largest file Upload accepts, in bytes.
func (s *Service) MaxSize() int64 { return s.maxSize }

// File states.
const (
	stateUploading = "uploading"
	stateComplete  = "complete"
	stateDeleting  = "deleting"
)

func errNoFile(op string) error { return errs.E(errs.NotFound, op, "no such file") }

func dbErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}

func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func actorOf(p authz.Principal) string { return p.Kind + ":" + p.UserID }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// partAD binds a part to its file, index and position; the key manager
// adds the organization.
func partAD(id string, index int64, last bool) []byte {
	pos := "more"
	if last {
		pos = "last"
	}
	return keys.AssociatedData("files", "part", id, strconv.FormatInt(index, 10), pos)
}

func metaAD(id string) []byte { return keys.AssociatedData("files", "meta", id) }

// mayAny answers errs.Forbidden before any lookup when the principal holds
// perm in no collection at all, so that for such a caller a foreign id and
// a random one get the same answer. The check on the file's own collection
// follows the lookup.
func mayAny(p authz.Principal, perm authz.Permission) error {
	if !slices.Contains(authz.Effective(p), perm) {
		return errs.E(errs.Forbidden, "files", "missing permission "+string(perm))
	}
	return nil
}

// can checks perm on a file of the principal's organization attached to
// collection ("" for a standalone file).
func can(ctx context.Context, p authz.Principal, perm authz.Permission, collection string) error {
	return authz.Can(authz.WithPrincipal(ctx, p), perm, authz.Resource{OrgID: p.OrgID, Collection: collection})
}
