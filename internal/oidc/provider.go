package oidc

import (
	"context"
	"crypto/rand"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// Meta is where a request came from, for the audit log.
type Meta = identity.Meta

// Paths of the provider's endpoints, all under /oauth/ so that they never
// clash with /api/v1; discovery is at the issuer's well-known path.
const (
	PathPrefix      = "/oauth/"
	PathDiscovery   = "/.well-known/openid-configuration"
	PathAuthorize   = "/oauth/authorize"
	PathToken       = "/oauth/token"
	PathUserinfo    = "/oauth/userinfo"
	PathRevoke      = "/oauth/revoke"
	PathIntrospect  = "/oauth/introspect"
	PathEndSession  = "/oauth/end_session"
	PathKeys        = "/oauth/keys"
	PathGatewayKeys = "/oauth/gateway/keys"
	PathLogin       = "/oauth/login"
	PathLoginMFA    = "/oauth/login/mfa"
	PathConsent     = "/oauth/consent"
	PathStatic      = "/oauth/static/"
)

// Config tunes the provider.
type Config struct {
	// PublicURL is the https base URL of the deployment; the issuer is
	// PublicURL + "/".
	PublicURL       string
	AccessTokenTTL  time.Duration // default 10 minutes
	RefreshTokenTTL time.Duration // default 30 days
	KeyRotation     time.Duration // how long a signing key signs; default 30 days
	AuthRequestTTL  time.Duration // time to sign in; default 10 minutes
}

func (c Config) withDefaults() Config {
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 10 * time.Minute
	}
	if c.RefreshTokenTTL <= 0 {
		c.RefreshTokenTTL = 30 * 24 * time.Hour
	}
	if c.KeyRotation <= 0 {
		c.KeyRotation = 30 * 24 * time.Hour
	}
	if c.AuthRequestTTL <= 0 {
		c.AuthRequestTTL = 10 * time.Minute
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// idTokenTTL is how long ID tokens last: they are read once by the
// relying party at sign-in.
const idTokenTTL = 10 * time.Minute

// clockSkew is the allowance for clocks of other parties.
const clockSkew = 0

// Provider is the OpenID provider of one deployment.
type Provider struct {
	db       *store.DB
	audit    *audit.Log
	identity *identity.Service
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	keys     *keyRing
	op       *op.Provider
	handler  http.Handler
	pages    *template.Template
	issuer   string
}

// New returns the provider. It does not touch the database: signing keys
// are made on first use (or by EnsureKeys at start-up).
func New(db *store.DB, root keys.RootKey, auditLog *audit.Log, id *identity.Service, log *slog.Logger, now func() time.Time, cfg Config) (*Provider, error) {
	const op_ = "oidc.New"
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !strings.HasPrefix(cfg.PublicURL, "https://") {
		return nil, errs.E(errs.Invalid, op_, "the provider needs an https public URL")
	}
	// A signing key stays published until every token it signed has
	// expired: the longest token lifetime plus a margin for clock skew.
	overlap := max(cfg.AccessTokenTTL, idTokenTTL, assertionTTL) + 5*time.Minute
	p := &Provider{db: db, audit: auditLog, identity: id, log: log, now: now, cfg: cfg,
		keys: newKeyRing(db, root, auditLog, now, cfg.KeyRotation, overlap), issuer: cfg.PublicURL + "/"}
	pages, err := parsePages()
	if err != nil {
		return nil, errs.E(op_, err)
	}
	p.pages = pages
	var cryptoKey [32]byte // unused: access tokens are JWTs, never encrypted opaque tokens
	_, _ = rand.Read(cryptoKey[:])
	config := &op.Config{
		CryptoKey:                cryptoKey,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		DefaultLogoutRedirectURI: PathLogin + "/signed-out",
	}
	// Only the token-style endpoints answer cross-origin requests (single
	// page apps exchange codes and call userinfo); never with credentials.
	corsOpts := &cors.Options{
		AllowedOrigins:   []string{"*"},
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type"},
		AllowCredentials: false,
	}
	prov, err := op.NewProvider(config, &storage{p: p}, op.StaticIssuer(p.issuer),
		op.WithCustomAuthEndpoint(op.NewEndpoint(PathAuthorize)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(PathToken)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(PathUserinfo)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(PathRevoke)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(PathEndSession)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(PathKeys)),
		op.WithCORSOptions(corsOpts),
		op.WithLogger(log),
	)
	if err != nil {
		return nil, errs.E(errs.Invalid, op_, "cannot start the OpenID provider", err)
	}
	p.op = prov
	p.handler = withMeta(p.routes())
	return p, nil
}

// Issuer is the provider's issuer identifier (https://host/).
func (p *Provider) Issuer() string { return p.issuer }

// APIAudience is the audience every access token carries besides its
// client: the deployment's own APIs and gateway.
func (p *Provider) APIAudience() string { return p.cfg.PublicURL + "/gw/" }

// Patterns are the http.ServeMux patterns the provider answers; Handler
// serves all of them.
func (p *Provider) Patterns() []string {
	return []string{PathDiscovery, PathPrefix}
}

// Handler serves the protocol endpoints, the sign-in pages and the JWKS.
func (p *Provider) Handler() http.Handler { return p.handler }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	// The sign-in forms post same-origin only (besides their token).
	csrf := http.NewCrossOriginProtection()
	mux.HandleFunc("GET "+PathLogin, p.loginPage)
	mux.Handle("POST "+PathLogin, csrf.Handler(http.HandlerFunc(p.loginSubmit)))
	mux.Handle("POST "+PathLoginMFA, csrf.Handler(http.HandlerFunc(p.mfaSubmit)))
	mux.Handle("POST "+PathLogin+"/session", csrf.Handler(http.HandlerFunc(p.continueSubmit)))
	mux.Handle("POST "+PathConsent, csrf.Handler(http.HandlerFunc(p.consentSubmit)))
	mux.HandleFunc("GET "+PathLogin+"/signed-out", p.signedOut)
	mux.HandleFunc("GET "+PathStatic+"style.css", serveCSS)
	mux.HandleFunc("GET "+PathGatewayKeys, p.gatewayKeys)
	mux.HandleFunc("POST "+PathRegister, p.register)
	// The rest is the library's: discovery, authorize (and its callback),
	// token, userinfo, revoke, introspect, end_session, keys. Its other
	// routes (health, device authorization) are not exposed.
	var lib http.Handler = p.op
	for _, path := range []string{PathDiscovery, PathAuthorize, PathToken, PathUserinfo,
		PathRevoke, PathIntrospect, PathEndSession, PathKeys} {
		mux.Handle(path, lib)
	}
	// The callback hands out the code: only to the browser that signed in.
	mux.Handle(PathAuthorize+"/callback", p.boundToBrowser(lib))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeOAuthError(w, http.StatusNotFound, "invalid_request", "no such endpoint")
	})
	return mux
}

// EnsureKeys makes the signing keys on first start (and whenever the
// schedule ran out) so the first token request does not pay for it.
func (p *Provider) EnsureKeys(ctx context.Context) error {
	for _, purpose := range []string{PurposeTokens, PurposeGateway} {
		if _, err := p.keys.current(ctx, purpose); err != nil {
			return err
		}
	}
	return nil
}

// RotateSigningKeys makes new signing keys for tokens and gateway
// assertions now; the old public keys stay in the JWKS until every token
// they signed has expired.
func (p *Provider) RotateSigningKeys(ctx context.Context, actor string) error {
	for _, purpose := range []string{PurposeTokens, PurposeGateway} {
		if err := p.keys.rotate(ctx, purpose, actor, true); err != nil {
			return err
		}
	}
	return nil
}

// SigningKeys describes the published keys.
func (p *Provider) SigningKeys(ctx context.Context) ([]KeyInfo, error) { return p.keys.list(ctx) }

// Maintain runs the scheduled work once: keys whose time is up are
// replaced, expired requests and tokens are deleted.
func (p *Provider) Maintain(ctx context.Context) error {
	if err := p.EnsureKeys(ctx); err != nil {
		return err
	}
	now := p.now().UnixMicro()
	return p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		for _, q := range []string{
			"DELETE FROM oauth_auth_requests WHERE expires_at < ?",
			"DELETE FROM oauth_access_tokens WHERE expires_at < ?",
			"DELETE FROM oauth_refresh_tokens WHERE expires_at < ?",
			"DELETE FROM oauth_signing_keys WHERE retire_at < ?",
			"DELETE FROM oauth_registration_tokens WHERE expires_at < ?",
		} {
			if _, err := tx.Exec(ctx, q, now); err != nil {
				return dbErr("oidc.Maintain", err)
			}
		}
		return nil
	})
}

// Run calls Maintain every interval until ctx ends.
func (p *Provider) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Maintain(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("oauth maintenance failed", "err", err)
			}
		}
	}
}
