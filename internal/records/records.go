package records

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// Limits that refuse hostile input.
const (
	MaxDataSize      = 1 << 20 // bytes of a record's JSON (and of a merge patch)
	MaxIndexedFields = 8       // declared indexed fields per collection
	MaxSchemaSize    = 256 << 10
	DefaultLimit     = 50  // List page size when none is given
	MaxLimit         = 200 // largest List page
)

// CollectionSpec is what CreateCollection takes.
type CollectionSpec struct {
	Name          string          `json:"name"`
	Schema        json.RawMessage `json:"schema,omitempty"`         // optional JSON Schema
	IndexedFields []string        `json:"indexed_fields,omitempty"` // top-level string/number fields
}

// Collection is a stored collection.
type Collection struct {
	Name          string          `json:"name"`
	Schema        json.RawMessage `json:"schema,omitempty"`
	IndexedFields []string        `json:"indexed_fields"`
	CreatedAt     time.Time       `json:"created_at"`
	CreatedBy     string          `json:"created_by"`
}

// Record is one stored document.
type Record struct {
	ID         string          `json:"id"`
	Collection string          `json:"collection"`
	Version    int64           `json:"version"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	CreatedBy  string          `json:"created_by"`
	Data       json.RawMessage `json:"data"`
}

// ListOptions selects a page of records.
type ListOptions struct {
	Limit  int               // 1..MaxLimit; 0 means DefaultLimit
	Cursor string            // opaque, from a previous Page.NextCursor
	Where  map[string]string // exact match on indexed fields
}

// Page is one page of a listing, oldest first.
type Page struct {
	Items      []Record `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"` // empty on the last page
}

// Service implements collections and records on the store.
type Service struct {
	db    *store.DB
	keys  *keys.Manager
	audit *audit.Log
	now   func() time.Time

	indexKeys sync.Map // org id -> []byte blind-index key
	onDelete  []DeleteHook
	schemas   sync.Map // sha256 of schema text -> *jsonschema.Schema
}

// New returns a Service. now stamps records and is injected so tests are exact.
func New(db *store.DB, keys *keys.Manager, audit *audit.Log, now func() time.Time) *Service {
	return &Service{db: db, keys: keys, audit: audit, now: now}
}

var (
	errNoRecord     = func(op string) error { return errs.E(errs.NotFound, op, "no such record") }
	errNoCollection = func(op string) error { return errs.E(errs.NotFound, op, "no such collection") }
)

func dbErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}

// can checks perm on a collection of the principal's own organization.
func can(ctx context.Context, p authz.Principal, perm authz.Permission, collection string) error {
	return authz.Can(authz.WithPrincipal(ctx, p), perm, authz.Resource{OrgID: p.OrgID, Collection: collection})
}

func actorOf(p authz.Principal) string { return p.Kind + ":" + p.UserID }

func event(p authz.Principal, action, target string, details map[string]any) audit.Event {
	return audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: action, Target: target, Outcome: audit.Success, Details: details}
}

func micros(t time.Time) int64      { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// ForgetOrg drops what the service caches for org (its blind-index key),
// after the organization was deleted.
func (s *Service) ForgetOrg(org string) { s.indexKeys.Delete(org) }

// DeleteHook runs inside the transaction that deletes a record, after the
// record is gone; a non-nil after runs once that transaction committed, in
// the deleting caller's goroutine (so it may write to the database).
// The files service registers one so a record's attachments go with it.
type DeleteHook func(ctx context.Context, tx *store.Tx, p authz.Principal, collection, id string) (after func(), err error)

// OnDelete registers h. Call it while wiring the application, before the
// service is used.
func (s *Service) OnDelete(h DeleteHook) { s.onDelete = append(s.onDelete, h) }
