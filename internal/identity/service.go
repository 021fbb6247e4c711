package identity

import (
	"context"
	"encoding/json"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/totp"
)

// Config tunes sessions and tokens.
type Config struct {
	SessionIdle     time.Duration // a session unused this long ends (default 30 min)
	SessionLifetime time.Duration // a session ends this long after login, used or not (default 12 h)
	Issuer          string        // shown in authenticator apps (default "Rampart")
	MaxTokenTTL     time.Duration // longest personal API token lifetime (default 365 days)
	// PublicURL is the https base of the links mailed or printed
	// (invitations, password resets, bootstrap); default https://localhost.
	PublicURL string
}

func (c Config) withDefaults() Config {
	if c.SessionIdle <= 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.Issuer == "" {
		c.Issuer = "Rampart"
	}
	if c.MaxTokenTTL <= 0 {
		c.MaxTokenTTL = 365 * 24 * time.Hour
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PublicURL == "" {
		c.PublicURL = "https://localhost"
	}
	return c
}

// Service is the identity domain.
type Service struct {
	db     *store.DB
	keys   *keys.Manager
	audit  *audit.Log
	hasher *password.Hasher
	otp    *totp.Validator
	lock   lockout.Counter
	mailer mail.Sender
	log    *slog.Logger
	now    func() time.Time
	cfg    Config

	// Mails sent after the request has been answered (password resets),
	// so that the answer takes the same time whether or not a mail goes
	// out: mailWG tracks them for WaitForMail, mailSlots bounds how many
	// talk to the mail server at once.
	mailWG    sync.WaitGroup
	mailSlots chan struct{}

	auth authCache // recent API-token authentications
}

// New returns the identity service. mailer (required) delivers
// invitations and password resets; log (nil: discard) records mail that
// could not be delivered after its request was answered.
func New(db *store.DB, km *keys.Manager, auditLog *audit.Log, hasher *password.Hasher, lock lockout.Counter, mailer mail.Sender, log *slog.Logger, now func() time.Time, cfg Config) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, keys: km, audit: auditLog, hasher: hasher, otp: totp.NewValidator(now), lock: lock, mailer: mailer, log: log,
		now: now, cfg: cfg.withDefaults(), mailSlots: make(chan struct{}, maxMailInFlight)}
}

// User is a member of one organization.
type User struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"organization_id"`
	Email       string    `json:"email"`
	Status      string    `json:"status"`
	Roles       []string  `json:"roles"`
	MFAEnabled  bool      `json:"mfa_enabled"`
	CreatedAt   time.Time `json:"created_at"`
	PasswordSet time.Time `json:"password_changed_at"`
}

// Meta is where a request came from, for the audit log.
type Meta struct {
	IP        string
	UserAgent string
}

func (s *Service) micros() int64 { return s.now().UnixMicro() }

// normalizeEmail lower-cases an address and checks it is one.
func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := netmail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", errs.E(errs.Invalid, "identity", "email: not a valid address")
	}
	return email, nil
}

// event fills an audit event for an action by p.
func event(p authz.Principal, m Meta, action, target string, details map[string]any) audit.Event {
	return audit.Event{Org: p.OrgID, Actor: actorOf(p), Action: action, Target: target, IP: m.IP, UserAgent: m.UserAgent, Details: details}
}

func actorOf(p authz.Principal) string {
	if p.Kind == "" {
		return "system"
	}
	return p.Kind + ":" + p.UserID
}

// settings is an organization's identity configuration.
type settings struct {
	Policy     password.Policy
	RequireMFA bool
}

func (s *Service) loadSettings(ctx context.Context, tx *store.Tx, org string) (settings, error) {
	var raw string
	var req int64
	err := tx.QueryRow(ctx, "SELECT password_policy, require_mfa FROM org_settings WHERE org_id = ?", org).Scan(&raw, &req)
	if store.IsNoRows(err) {
		return settings{Policy: password.DefaultPolicy()}, nil
	}
	if err != nil {
		return settings{}, errs.E(errs.Unavailable, "identity.settings", "database unavailable", err)
	}
	st := settings{Policy: password.DefaultPolicy(), RequireMFA: req != 0}
	if err := json.Unmarshal([]byte(raw), &st.Policy); err != nil {
		return settings{}, errs.E("identity.settings", "stored password policy is unreadable", err)
	}
	return st, nil
}

func dbErr(op string, err error) error {
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}
