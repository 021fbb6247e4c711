package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// Dynamic Client Registration (RFC 7591). An organization admin (holder
// of clients.manage) makes an initial access token; whoever holds it may
// register one client in that organization at PathRegister. The token is
// single-use and expires; only its hash is stored.

// PathRegister is the RFC 7591 client registration endpoint.
const PathRegister = "/oauth/register"

const prefixRegistration = "rit_"

// MaxRegistrationTokenTTL bounds how long an initial access token lives.
const MaxRegistrationTokenTTL = 7 * 24 * time.Hour

// RegistrationToken describes an initial access token (its value is
// returned once, at creation).
type RegistrationToken struct {
	ID        string    `json:"id"`
	Token     string    `json:"token,omitempty"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateRegistrationToken makes an initial access token for the
// principal's organization; the principal needs clients.manage. The
// registered client may ask for the standard OpenID scopes and for scopes
// only.
func (p *Provider) CreateRegistrationToken(ctx context.Context, m Meta, ttl time.Duration, scopes []string) (RegistrationToken, error) {
	if err := authz.Can(ctx, authz.ClientsManage, authz.Resource{}); err != nil {
		return RegistrationToken{}, err
	}
	pr, _ := authz.PrincipalFrom(ctx)
	return p.createRegistrationToken(ctx, pr.OrgID, actorOf(pr), m, ttl, scopes)
}

// CreateRegistrationTokenAsOperator is CreateRegistrationToken from the
// command line.
func (p *Provider) CreateRegistrationTokenAsOperator(ctx context.Context, actor, orgID string, ttl time.Duration, scopes []string) (RegistrationToken, error) {
	return p.createRegistrationToken(ctx, orgID, actor, Meta{}, ttl, scopes)
}

func (p *Provider) createRegistrationToken(ctx context.Context, orgID, actor string, m Meta, ttl time.Duration, scopes []string) (RegistrationToken, error) {
	const op = "oidc.CreateRegistrationToken"
	if ttl <= 0 || ttl > MaxRegistrationTokenTTL {
		return RegistrationToken{}, errs.E(errs.Invalid, op, "expires_in_seconds: must be between 1 and 604800 (7 days)")
	}
	scopes = dedupe(scopes)
	for _, s := range scopes {
		if !scopeRE.MatchString(s) || len(scopes) > maxScopes {
			return RegistrationToken{}, errs.E(errs.Invalid, op, "scopes: each must be 1 to 64 of a-z 0-9 . _ : - (at most 50)")
		}
	}
	scopesJSON, _ := json.Marshal(scopes)
	token, hash := randomToken(prefixRegistration)
	now := p.now().UTC().Truncate(time.Microsecond)
	rt := RegistrationToken{ID: uuid.NewString(), Token: token, Scopes: scopes, ExpiresAt: now.Add(ttl)}
	err := p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_registration_tokens (id, token_hash, org_id, scopes, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, rt.ID, hash, orgID, string(scopesJSON), actor, now.UnixMicro(), rt.ExpiresAt.UnixMicro()); err != nil {
			return dbErr(op, err)
		}
		_, err := p.audit.Append(ctx, tx, audit.Event{Org: orgID, Actor: actor, Action: "oauth.registration_token.create",
			Target: "registration_token:" + rt.ID, Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent,
			Details: map[string]any{"expires_at": rt.ExpiresAt, "scopes": scopes}})
		return err
	})
	if err != nil {
		return RegistrationToken{}, err
	}
	return rt, nil
}

// registrationRequest is the RFC 7591 client metadata we accept.
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name"`
	Scope                   string   `json:"scope"`
}

// registrationResponse is the RFC 7591 section 3.2.1 answer.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name"`
	Scope                   string   `json:"scope,omitempty"`
}

// registrationError is an RFC 7591 section 3.2.2 error.
type registrationError struct{ code, desc string }

func (e registrationError) Error() string { return e.code + ": " + e.desc }

func (p *Provider) register(w http.ResponseWriter, r *http.Request) {
	m := requestMeta(r)
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(token, prefixRegistration) || len(token) != len(prefixRegistration)+43 {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "an initial access token is required")
		return
	}
	var req registrationRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<10))
	if err := dec.Decode(&req); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "the body must be a JSON object of client metadata")
		return
	}
	nc, err := req.toNewClient()
	if err != nil {
		var re registrationError
		errors.As(err, &re)
		writeOAuthError(w, http.StatusBadRequest, re.code, re.desc)
		return
	}
	// The token is used up in the same transaction that creates the
	// client, so it registers exactly one.
	var orgID, tokenID string
	err = p.db.Write(r.Context(), func(ctx context.Context, tx *store.Tx) error {
		var expires int64
		var allowed string
		err := tx.QueryRow(ctx, "SELECT id, org_id, scopes, expires_at FROM oauth_registration_tokens WHERE token_hash = ? AND used_at = 0",
			hashSecret(token)).Scan(&tokenID, &orgID, &allowed, &expires)
		if store.IsNoRows(err) || (err == nil && p.now().UnixMicro() >= expires) {
			return errs.E(errs.Unauthorized, "oidc.register", "invalid token")
		}
		if err != nil {
			return err
		}
		var ok []string
		_ = json.Unmarshal([]byte(allowed), &ok)
		for _, s := range nc.Scopes {
			if !slices.Contains(ok, s) {
				// The token stays usable: the request was wrong, not the holder.
				return registrationError{"invalid_client_metadata", "scope " + s + " is not allowed by the initial access token"}
			}
		}
		res, err := tx.Exec(ctx, "UPDATE oauth_registration_tokens SET used_at = ? WHERE id = ? AND used_at = 0", p.now().UnixMicro(), tokenID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Unauthorized, "oidc.register", "invalid token")
		}
		return nil
	})
	var re registrationError
	if errors.As(err, &re) {
		writeOAuthError(w, http.StatusBadRequest, re.code, re.desc)
		return
	}
	if errs.KindOf(err) == errs.Unauthorized {
		_ = p.audit.Record(r.Context(), p.db, audit.Event{Org: audit.PlatformOrg, Actor: "anonymous", Action: "oauth.client.register",
			Target: "registration_token", Outcome: audit.Failure, IP: m.IP, UserAgent: m.UserAgent})
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "the initial access token is invalid, used or expired")
		return
	}
	if err != nil {
		p.log.ErrorContext(r.Context(), "client registration", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	c, secret, err := p.createClient(r.Context(), orgID, "registration_token:"+tokenID, m, nc)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid {
			writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", errs.SafeMessage(err))
			return
		}
		p.log.ErrorContext(r.Context(), "client registration", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	resp := registrationResponse{ClientID: c.ID, ClientSecret: secret, ClientIDIssuedAt: c.CreatedAt.Unix(), RedirectURIs: c.RedirectURIs,
		TokenEndpointAuthMethod: "client_secret_basic", GrantTypes: c.GrantTypes, ResponseTypes: []string{}, ClientName: c.Name,
		Scope: strings.Join(c.Scopes, " ")}
	if c.Public {
		resp.TokenEndpointAuthMethod = "none"
	} else {
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	if slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
		resp.ResponseTypes = []string{"code"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(resp)
}

// toNewClient maps RFC 7591 metadata onto a registration, refusing what
// this provider does not support with the RFC's error codes.
func (req registrationRequest) toNewClient() (NewClient, error) {
	nc := NewClient{Name: req.ClientName, RedirectURIs: req.RedirectURIs, GrantTypes: req.GrantTypes, Scopes: strings.Fields(req.Scope)}
	switch req.TokenEndpointAuthMethod {
	case "", "client_secret_basic", "client_secret_post":
	case "none":
		nc.Public = true
	default:
		return nc, registrationError{"invalid_client_metadata", "token_endpoint_auth_method must be client_secret_basic, client_secret_post or none"}
	}
	for _, rt := range req.ResponseTypes {
		if rt != "code" {
			return nc, registrationError{"invalid_client_metadata", "response_types: only code is supported"}
		}
	}
	for _, u := range req.RedirectURIs {
		if problem := checkRedirectURI(u); problem != "" {
			return nc, registrationError{"invalid_redirect_uri", problem}
		}
	}
	if nc.Name == "" {
		nc.Name = "Registered client"
	}
	// Standard OpenID scopes are always allowed; only the others are
	// registered.
	nc.Scopes = slices.DeleteFunc(nc.Scopes, func(s string) bool { return slices.Contains(standardScopes, s) })
	if err := nc.validate(); err != nil {
		return nc, registrationError{"invalid_client_metadata", errs.SafeMessage(err)}
	}
	return nc, nil
}
