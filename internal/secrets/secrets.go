package secrets

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// Type is what kind of credential a secret holds; it decides the shape of
// its value.
type Type string

// The types of secret.
const (
	// Password is a JSON string: a password for another service.
	Password Type = "password"
	// APIKey is a JSON string without surrounding whitespace or control
	// characters.
	APIKey Type = "api_key"
	// OAuthToken is a JSON object with at least access_token, and
	// optionally refresh_token, token_type, expiry (RFC 3339), expires_in,
	// scope and other members, as an OAuth 2.0 token response (or
	// golang.org/x/oauth2's Token) has them.
	OAuthToken Type = "oauth_token" // #nosec G101 -- the name of a type, not a credential
)

// Types lists the types, in the order messages name them.
var Types = []Type{Password, APIKey, OAuthToken}

// Statuses of a secret (Secret.Status).
const (
	StatusActive  = "active"  // its value can be used
	StatusExpired = "expired" // expires_at has passed: the value cannot be read
	StatusRevoked = "revoked" // the value was destroyed
)

// Limits that refuse hostile or mistaken input.
const (
	MaxNameLength     = 100
	MaxValueSize      = 16 << 10 // bytes of a value's JSON
	MaxMetadataSize   = 4 << 10  // bytes of the metadata object's JSON
	MaxMetadataFields = 32
	MaxMetadataString = 1024 // bytes of one metadata string
	MaxPurposeLength  = 200  // characters of a reveal or use purpose
	DefaultLimit      = 50   // List page size when none is given
	MaxLimit          = 200  // largest List page
)

// Spec is what Create takes.
type Spec struct {
	Name      string
	Type      Type
	Value     json.RawMessage // a JSON string (password, api_key) or object (oauth_token)
	Metadata  json.RawMessage // optional JSON object of non-secret facts
	ExpiresAt *time.Time      // optional; must be in the future
}

// Secret is a secret's metadata: everything but its value.
type Secret struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       Type            `json:"type"`
	Status     string          `json:"status"`
	Version    int64           `json:"version"`
	Metadata   json.RawMessage `json:"metadata"`
	CreatedAt  time.Time       `json:"created_at"`
	CreatedBy  string          `json:"created_by"`
	UpdatedAt  time.Time       `json:"updated_at"`
	ExpiresAt  *time.Time      `json:"expires_at,omitempty"`
	RevokedAt  *time.Time      `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time      `json:"last_used_at,omitempty"`
}

// ListOptions selects a page of secrets.
type ListOptions struct {
	Limit  int    // 1..MaxLimit; 0 means DefaultLimit
	Cursor string // opaque, from a previous Page.NextCursor
	Status string // "" for all, or StatusActive, StatusExpired, StatusRevoked
}

// Page is one page of a listing, oldest first.
type Page struct {
	Items      []Secret `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"` // empty on the last page
}

// RevealRequest is why and from where a value is revealed.
type RevealRequest struct {
	Purpose   string // required, at most MaxPurposeLength characters; audited
	IP        string // the client's address, for the audit entry
	UserAgent string
}

// Service implements the vault on the store.
type Service struct {
	db         *store.DB
	keys       *keys.Manager
	audit      *audit.Log
	tombstones tombstone.Publisher
	log        *slog.Logger
	now        func() time.Time
}

// New returns a Service. tombstones receives a tombstone after every
// revocation (nil means tombstone.Nop{}: no backup target); log records a
// failure to publish one (nil discards); now stamps secrets and decides
// expiry, injected so tests are exact.
func New(db *store.DB, keys *keys.Manager, audit *audit.Log, tombstones tombstone.Publisher, log *slog.Logger, now func() time.Time) *Service {
	if tombstones == nil {
		tombstones = tombstone.Nop{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{db: db, keys: keys, audit: audit, tombstones: tombstones, log: log, now: now}
}

// valueAD is the associated data of a secret's value: the ciphertext is
// bound to organization, table, id and version (the manager binds the
// organization once more).
func valueAD(org, id string, version int64) []byte {
	return keys.AssociatedData(org, "secrets", id, strconv.FormatInt(version, 10))
}

// validID reports whether id can name a secret; other ids are NotFound.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func errNoSecret(op string) error { return errs.E(errs.NotFound, op, "no such secret") }

func dbErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}

// can checks perm in the principal's own organization.
func can(ctx context.Context, p authz.Principal, perm authz.Permission) error {
	return authz.Can(authz.WithPrincipal(ctx, p), perm, authz.Resource{OrgID: p.OrgID})
}

func actorOf(p authz.Principal) string { return p.Kind + ":" + p.UserID }

func event(p authz.Principal, action, id string, details map[string]any) audit.Event {
	return audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: action, Target: "secret:" + id, Outcome: audit.Success, Details: details}
}

func micros(t time.Time) int64      { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func optMicros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

func optTime(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}
