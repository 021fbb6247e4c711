package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// secretPrefix marks client secrets, so that a leaked one is recognisable.
const secretPrefix = "rcs_"

// Limits on client registration input.
const (
	maxRedirectURIs = 10
	maxScopes       = 50
	maxURILen       = 2000
)

var scopeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._:-]{0,63}$`)

// standardScopes are the OpenID Connect scopes every client may ask for.
var standardScopes = []string{"openid", "profile", "email", "offline_access"}

// Client is a registered OAuth client (never its secret).
type Client struct {
	ID           string     `json:"id"`
	OrgID        string     `json:"organization_id"`
	Name         string     `json:"name"`
	Public       bool       `json:"public"`
	FirstParty   bool       `json:"first_party"`
	RedirectURIs []string   `json:"redirect_uris"`
	GrantTypes   []string   `json:"grant_types"`
	Scopes       []string   `json:"scopes"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`

	secretHash []byte
}

// NewClient is what registering a client takes.
type NewClient struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	FirstParty   bool     `json:"first_party"`
	GrantTypes   []string `json:"grant_types"`
	Scopes       []string `json:"scopes"`
}

// newSecret returns a 256-bit random client secret and the SHA-256 stored
// instead of it: like API tokens, a secret as long as a key cannot be
// guessed from its hash, so a slow password hash would buy nothing.
func newSecret() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	s := secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return s, hashSecret(s)
}

func hashSecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// validate normalises nc and reports every problem at once.
func (nc *NewClient) validate() error {
	var problems []string
	nc.Name = strings.TrimSpace(nc.Name)
	if nc.Name == "" || len(nc.Name) > 100 {
		problems = append(problems, "name: must be 1 to 100 characters")
	}
	if len(nc.GrantTypes) == 0 {
		if len(nc.RedirectURIs) > 0 {
			nc.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		} else {
			nc.GrantTypes = []string{GrantClientCredentials}
		}
	}
	nc.GrantTypes = dedupe(nc.GrantTypes)
	for _, g := range nc.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials:
			if nc.Public {
				problems = append(problems, "grant_types: a public client cannot use client_credentials (it has no secret)")
			}
		default:
			problems = append(problems, fmt.Sprintf("grant_types: %q is not supported (use authorization_code, refresh_token, client_credentials)", g))
		}
	}
	if slices.Contains(nc.GrantTypes, GrantRefreshToken) && !slices.Contains(nc.GrantTypes, GrantAuthorizationCode) {
		problems = append(problems, "grant_types: refresh_token needs authorization_code")
	}
	nc.RedirectURIs = dedupe(nc.RedirectURIs)
	if slices.Contains(nc.GrantTypes, GrantAuthorizationCode) && len(nc.RedirectURIs) == 0 {
		problems = append(problems, "redirect_uris: authorization_code needs at least one redirect URI")
	}
	if len(nc.RedirectURIs) > maxRedirectURIs {
		problems = append(problems, fmt.Sprintf("redirect_uris: at most %d", maxRedirectURIs))
	}
	for _, u := range nc.RedirectURIs {
		if p := checkRedirectURI(u); p != "" {
			problems = append(problems, "redirect_uris: "+p)
		}
	}
	nc.Scopes = dedupe(nc.Scopes)
	if len(nc.Scopes) > maxScopes {
		problems = append(problems, fmt.Sprintf("scopes: at most %d", maxScopes))
	}
	for _, s := range nc.Scopes {
		if !scopeRE.MatchString(s) {
			problems = append(problems, fmt.Sprintf("scopes: %q must be 1 to 64 of a-z 0-9 . _ : - starting with a letter or digit", truncate(s, 80)))
		}
	}
	if len(problems) > 0 {
		return errs.E(errs.Invalid, "oidc.CreateClient", strings.Join(problems, "; "))
	}
	return nil
}

// checkRedirectURI accepts absolute https URLs, and http only on a
// loopback address (native apps, RFC 8252); never a fragment.
func checkRedirectURI(raw string) string {
	if len(raw) > maxURILen {
		return "a redirect URI is longer than 2000 characters"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL", truncate(raw, 100))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Sprintf("%q must not have a fragment", truncate(raw, 100))
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Sprintf("%q: http is only allowed for loopback addresses", truncate(raw, 100))
		}
	default:
		return fmt.Sprintf("%q must use https", truncate(raw, 100))
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func dedupe(in []string) []string {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// CreateClient registers a client in the organization of the principal in
// ctx, which needs clients.manage. The secret (empty for public clients) is
// returned once. Errors: Unauthorized, Forbidden, Invalid.
func (p *Provider) CreateClient(ctx context.Context, m Meta, nc NewClient) (Client, string, error) {
	if err := authz.Can(ctx, authz.ClientsManage, authz.Resource{}); err != nil {
		return Client{}, "", err
	}
	pr, _ := authz.PrincipalFrom(ctx)
	return p.createClient(ctx, pr.OrgID, actorOf(pr), m, nc)
}

// CreateClientAsOperator registers a client from the command line, where
// the operator of the machine acts: actor names them in the audit log.
func (p *Provider) CreateClientAsOperator(ctx context.Context, actor, orgID string, nc NewClient) (Client, string, error) {
	return p.createClient(ctx, orgID, actor, Meta{}, nc)
}

func (p *Provider) createClient(ctx context.Context, orgID, actor string, m Meta, nc NewClient) (Client, string, error) {
	const op = "oidc.CreateClient"
	if err := nc.validate(); err != nil {
		return Client{}, "", err
	}
	now := p.now().UTC().Truncate(time.Microsecond)
	c := Client{ID: uuid.NewString(), OrgID: orgID, Name: nc.Name, Public: nc.Public, FirstParty: nc.FirstParty,
		RedirectURIs: nc.RedirectURIs, GrantTypes: nc.GrantTypes, Scopes: nc.Scopes, CreatedAt: now}
	var secret string
	var hash []byte
	if !nc.Public {
		secret, hash = newSecret()
	}
	c.secretHash = hash
	uris, _ := json.Marshal(c.RedirectURIs)
	grants, _ := json.Marshal(c.GrantTypes)
	scopes, _ := json.Marshal(c.Scopes)
	err := p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE id = ?", orgID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, op, "no such organization")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_clients (id, org_id, name, secret_hash, public, first_party, redirect_uris, grant_types, scopes, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, orgID, c.Name, hash, boolInt(c.Public), boolInt(c.FirstParty),
			string(uris), string(grants), string(scopes), now.UnixMicro(), actor); err != nil {
			return dbErr(op, err)
		}
		_, err := p.audit.Append(ctx, tx, audit.Event{Org: orgID, Actor: actor, Action: "oauth.client.create", Target: "client:" + c.ID,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent,
			Details: map[string]any{"public": c.Public, "first_party": c.FirstParty, "grant_types": c.GrantTypes, "scopes": c.Scopes, "redirect_uris": len(c.RedirectURIs)}})
		return err
	})
	if err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

// ListClients lists the clients of the principal's organization.
func (p *Provider) ListClients(ctx context.Context) ([]Client, error) {
	if err := authz.Can(ctx, authz.ClientsManage, authz.Resource{}); err != nil {
		return nil, err
	}
	pr, _ := authz.PrincipalFrom(ctx)
	return p.ListClientsAsOperator(ctx, pr.OrgID)
}

// ListClientsAsOperator lists an organization's clients for the command line.
func (p *Provider) ListClientsAsOperator(ctx context.Context, orgID string) ([]Client, error) {
	var out []Client
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE org_id = ? ORDER BY created_at, id`, orgID)
		if err != nil {
			return dbErr("oidc.ListClients", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClient(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if out == nil {
		out = []Client{}
	}
	return out, err
}

// GetClient returns one client of the principal's organization; a client
// of another organization is NotFound, like a missing one.
func (p *Provider) GetClient(ctx context.Context, id string) (Client, error) {
	c, err := p.clientByID(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		// The same answer as authz.Can gives for another tenant's client:
		// no existence oracle.
		return Client{}, errs.E(errs.NotFound, "oidc.GetClient")
	}
	if err != nil {
		return Client{}, err
	}
	if err := authz.Can(ctx, authz.ClientsManage, authz.Resource{OrgID: c.OrgID}); err != nil {
		return Client{}, err
	}
	return c, nil
}

// RevokeClient disables a client: it can no longer sign in, and every
// token it holds stops working (the gateway and introspection check).
func (p *Provider) RevokeClient(ctx context.Context, m Meta, id string) error {
	c, err := p.GetClient(ctx, id)
	if err != nil {
		return err
	}
	pr, _ := authz.PrincipalFrom(ctx)
	return p.revokeClient(ctx, c, actorOf(pr), m)
}

// RevokeClientAsOperator is RevokeClient from the command line.
func (p *Provider) RevokeClientAsOperator(ctx context.Context, actor, id string) error {
	c, err := p.clientByID(ctx, id)
	if err != nil {
		return err
	}
	return p.revokeClient(ctx, c, actor, Meta{})
}

func (p *Provider) revokeClient(ctx context.Context, c Client, actor string, m Meta) error {
	const op = "oidc.RevokeClient"
	now := p.now().UnixMicro()
	return p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE oauth_clients SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at = 0", now, c.ID, c.OrgID); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.Exec(ctx, "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at = 0", now, c.ID); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.Exec(ctx, "UPDATE oauth_access_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at = 0", now, c.ID); err != nil {
			return dbErr(op, err)
		}
		_, err := p.audit.Append(ctx, tx, audit.Event{Org: c.OrgID, Actor: actor, Action: "oauth.client.revoke", Target: "client:" + c.ID,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent})
		return err
	})
}

const clientCols = "id, org_id, name, secret_hash, public, first_party, redirect_uris, grant_types, scopes, created_at, revoked_at"

type scanner interface{ Scan(dest ...any) error }

func scanClient(s scanner) (Client, error) {
	var c Client
	var pub, first int
	var uris, grants, scopes string
	var created, revoked int64
	if err := s.Scan(&c.ID, &c.OrgID, &c.Name, &c.secretHash, &pub, &first, &uris, &grants, &scopes, &created, &revoked); err != nil {
		if store.IsNoRows(err) {
			return Client{}, errs.E(errs.NotFound, "oidc.client", "no such client")
		}
		return Client{}, dbErr("oidc.client", err)
	}
	c.Public, c.FirstParty = pub != 0, first != 0
	c.CreatedAt = time.UnixMicro(created).UTC()
	if revoked != 0 {
		t := time.UnixMicro(revoked).UTC()
		c.RevokedAt = &t
	}
	for _, x := range []struct {
		raw string
		p   *[]string
	}{{uris, &c.RedirectURIs}, {grants, &c.GrantTypes}, {scopes, &c.Scopes}} {
		if err := json.Unmarshal([]byte(x.raw), x.p); err != nil {
			return Client{}, errs.E("oidc.client", err)
		}
	}
	return c, nil
}

// clientByID loads a client whatever its organization (protocol paths,
// where the client id is the credential being checked).
func (p *Provider) clientByID(ctx context.Context, id string) (Client, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return Client{}, errs.E(errs.NotFound, "oidc.client", "no such client")
	}
	var c Client
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		c, err = scanClient(tx.QueryRow(ctx, "SELECT "+clientCols+" FROM oauth_clients WHERE id = ?", id))
		return err
	})
	return c, err
}

// checkSecret compares a presented secret with the stored hash in
// constant time.
func (c Client) checkSecret(secret string) bool {
	if c.Public || len(c.secretHash) == 0 || !strings.HasPrefix(secret, secretPrefix) || len(secret) > 100 {
		return false
	}
	return subtle.ConstantTimeCompare(hashSecret(secret), c.secretHash) == 1
}

// allowsScope reports whether the client may ask for scope.
func (c Client) allowsScope(scope string) bool {
	return slices.Contains(standardScopes, scope) || slices.Contains(c.Scopes, scope)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dbErr(op string, err error) error {
	if errs.KindOf(err) != errs.Other {
		return err
	}
	return errs.E(errs.Unavailable, op, "database unavailable", err)
}

func actorOf(p authz.Principal) string {
	switch p.Kind {
	case authz.KindClient:
		return "client:" + p.UserID
	case authz.KindOperator:
		return "operator:" + p.UserID
	}
	return "user:" + p.UserID
}
