package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// storage implements the library's storage on Rampart's database. Every
// error it returns is an *oidc.Error: the library turns any other error
// into a server_error that echoes its text.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// Refresh tokens are opaque 256-bit random values with this prefix.
const (
	prefixRefresh = "rrt_"
)

func randomToken(prefix string) (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	t := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return t, hashSecret(t)
}

// serverError logs the cause and answers the generic server_error.
func (s *storage) serverError(ctx context.Context, what string, err error) *oidc.Error {
	s.p.log.ErrorContext(ctx, "oauth storage failure", "what", what, "err", err)
	return oidc.ErrServerError().WithDescription("internal error")
}

// toOIDC maps a Rampart error to an OAuth error.
func (s *storage) toOIDC(ctx context.Context, what string, err error) error {
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return oe
	}
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Invalid:
		return oidc.ErrInvalidRequest().WithDescription("%s", errs.SafeMessage(err))
	}
	return s.serverError(ctx, what, err)
}

func (s *storage) audience(clientID string) []string {
	return []string{clientID, s.p.APIAudience()}
}

// --- clients ---

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.p.clientByID(ctx, clientID)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
		}
		return nil, s.serverError(ctx, "client", err)
	}
	if c.RevokedAt != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return opClient{c: c, login: func(id string) string { return PathLogin + "?authRequestID=" + id }}, nil
}

// authenticate checks a confidential client's secret, auditing failures.
func (s *storage) authenticate(ctx context.Context, clientID, secret string) (Client, error) {
	c, err := s.p.clientByID(ctx, clientID)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return Client{}, s.serverError(ctx, "client", err)
	}
	if err != nil || c.RevokedAt != nil || !c.checkSecret(secret) {
		org, target := audit.PlatformOrg, "client"
		if err == nil {
			org, target = c.OrgID, "client:"+c.ID
		}
		m := metaFrom(ctx)
		_ = s.p.audit.Record(ctx, s.p.db, audit.Event{Org: org, Actor: "anonymous", Action: "oauth.client_auth", Target: target,
			Outcome: audit.Failure, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"revoked": err == nil && c.RevokedAt != nil}})
		return Client{}, oidc.ErrInvalidClient().WithDescription("invalid client credentials")
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	_, err := s.authenticate(ctx, clientID, clientSecret)
	return err
}

func (s *storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	c, err := s.authenticate(ctx, clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	// The grant is checked in ClientCredentialsTokenRequest: an error
	// here would be reported as invalid_client.
	return opClient{c: c, login: func(string) string { return "" }}, nil
}

func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c, err := s.p.clientByID(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	if !slices.Contains(c.GrantTypes, GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use client_credentials")
	}
	if len(scopes) == 0 {
		scopes = c.Scopes // no scope asked: everything the client may have
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("the client may not ask for this scope")
		}
	}
	return &clientCredentialsRequest{clientID: c.ID, orgID: c.OrgID, scopes: scopes, audience: s.audience(c.ID)}, nil
}

// --- authorization requests ---

// maxParam bounds each free-text request parameter we store.
const maxParam = 512

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	c, err := s.p.clientByID(ctx, req.ClientID)
	if err != nil || c.RevokedAt != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired() // there is no browser session to reuse
	}
	// PKCE: S256 is required of public clients, and the only method
	// accepted from anyone ("plain" protects nothing).
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.Public && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public clients")
	}
	if !slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use authorization_code")
	}
	if len(req.State) > maxParam || len(req.Nonce) > maxParam || len(req.CodeChallenge) > 128 || len(req.LoginHint) > 254 {
		return nil, oidc.ErrInvalidRequest().WithDescription("a request parameter is too long")
	}
	params := authParams{RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce, Scopes: req.Scopes,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod), Prompt: req.Prompt, LoginHint: req.LoginHint}
	raw, _ := json.Marshal(params)
	now := s.p.now()
	a := &authRequest{id: uuid.NewString(), clientID: c.ID, orgID: c.OrgID, params: params, audience: s.audience(c.ID)}
	err = s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO oauth_auth_requests (id, client_id, org_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			a.id, a.clientID, a.orgID, string(raw), now.UnixMicro(), now.Add(s.p.cfg.AuthRequestTTL).UnixMicro())
		return err
	})
	if err != nil {
		return nil, s.serverError(ctx, "create auth request", err)
	}
	return a, nil
}

// loadAuthRequest reads a request by id or by code hash; expired ones do
// not exist.
func (p *Provider) loadAuthRequest(ctx context.Context, tx *store.Tx, where string, arg any) (*authRequest, error) {
	var a authRequest
	var params, amr string
	var authTime, done, expires int64
	err := tx.QueryRow(ctx, `SELECT id, client_id, org_id, params, user_id, auth_time, amr, done, expires_at FROM oauth_auth_requests WHERE `+where, arg).
		Scan(&a.id, &a.clientID, &a.orgID, &params, &a.userID, &authTime, &amr, &done, &expires)
	if store.IsNoRows(err) || (err == nil && p.now().UnixMicro() >= expires) {
		return nil, errs.E(errs.NotFound, "oidc.authRequest", "the sign-in request has expired or does not exist")
	}
	if err != nil {
		return nil, dbErr("oidc.authRequest", err)
	}
	if err := json.Unmarshal([]byte(params), &a.params); err != nil {
		return nil, errs.E("oidc.authRequest", err)
	}
	_ = json.Unmarshal([]byte(amr), &a.amr)
	if authTime != 0 {
		a.authTime = time.UnixMicro(authTime).UTC()
	}
	a.done = done != 0
	a.audience = []string{a.clientID, p.APIAudience()}
	return &a, nil
}

func (p *Provider) authRequestByID(ctx context.Context, id string) (*authRequest, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.E(errs.NotFound, "oidc.authRequest", "the sign-in request has expired or does not exist")
	}
	var a *authRequest
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		a, err = p.loadAuthRequest(ctx, tx, "id = ?", id)
		return err
	})
	return a, err
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.p.authRequestByID(ctx, id)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, oidc.ErrInvalidRequest().WithDescription("the sign-in request has expired or does not exist")
		}
		return nil, s.serverError(ctx, "auth request", err)
	}
	return a, nil
}

// AuthRequestByCode consumes the code: a code works once, even when two
// exchanges race.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	if code == "" || len(code) > 256 {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	h := hashSecret(code)
	var a *authRequest
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if a, err = s.p.loadAuthRequest(ctx, tx, "code_hash = ?", h); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE oauth_auth_requests SET code_hash = NULL WHERE id = ? AND code_hash = ?", a.id, h)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.NotFound, "oidc.authRequest", "code already used")
		}
		return nil
	})
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
		}
		return nil, s.serverError(ctx, "auth request by code", err)
	}
	if !a.done {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	return a, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	// The library's code is the request id sealed with AES-GCM under a
	// random per-process key and a random nonce: unguessable. Only its
	// hash is stored, and a code is looked up by hash, never decrypted,
	// so it works on every node.
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE oauth_auth_requests SET code_hash = ? WHERE id = ? AND done = 1", hashSecret(code), id)
		return err
	})
	if err != nil {
		return s.serverError(ctx, "save code", err)
	}
	return nil
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM oauth_auth_requests WHERE id = ?", id)
		return err
	})
	if err != nil {
		return s.serverError(ctx, "delete auth request", err)
	}
	return nil
}

// --- tokens ---

type grantInfo struct {
	grant, clientID, orgID, subject string
	scopes                          []string
}

func infoOf(req op.TokenRequest) (grantInfo, bool) {
	switch r := req.(type) {
	case *authRequest:
		return grantInfo{"authorization_code", r.clientID, r.orgID, r.userID, r.params.Scopes}, true
	case *clientCredentialsRequest:
		return grantInfo{"client_credentials", r.clientID, r.orgID, r.clientID, r.scopes}, true
	case *refreshRequest:
		return grantInfo{"refresh_token", r.clientID, r.orgID, r.userID, r.scopes}, true
	}
	return grantInfo{}, false
}

func (s *storage) insertAccessToken(ctx context.Context, tx *store.Tx, g grantInfo, family string) (string, time.Time, error) {
	id := uuid.NewString()
	now := s.p.now()
	exp := now.Add(s.p.cfg.AccessTokenTTL)
	scopes, _ := json.Marshal(g.scopes)
	_, err := tx.Exec(ctx, `INSERT INTO oauth_access_tokens (id, client_id, org_id, subject, scopes, family_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, g.clientID, g.orgID, g.subject, string(scopes), family, now.UnixMicro(), exp.UnixMicro())
	return id, exp, err
}

func actorFor(g grantInfo) string {
	if g.subject == g.clientID {
		return "client:" + g.clientID
	}
	return "user:" + g.subject
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, ok := infoOf(req)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	var id string
	var exp time.Time
	m := metaFrom(ctx)
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if id, exp, err = s.insertAccessToken(ctx, tx, g, ""); err != nil {
			return err
		}
		_, err = s.p.audit.Append(ctx, tx, audit.Event{Org: g.orgID, Actor: actorFor(g), Action: "oauth.token.issue", Target: "client:" + g.clientID,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"grant": g.grant, "jti": id, "scopes": g.scopes}})
		return err
	})
	if err != nil {
		return "", time.Time{}, s.serverError(ctx, "access token", err)
	}
	return id, exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, ok := infoOf(req)
	if !ok {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	var accessID, refresh string
	var exp time.Time
	m := metaFrom(ctx)
	reused := false
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := s.p.now()
		family, amr, authTime := uuid.NewString(), []string{}, now
		action := "oauth.token.issue"
		if rr, ok := req.(*refreshRequest); ok && current != "" {
			// Rotation: the presented token is used up atomically; if
			// another request used it first, this is a reuse.
			res, err := tx.Exec(ctx, `UPDATE oauth_refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at = 0 AND revoked_at = 0`,
				now.UnixMicro(), hashSecret(current))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				reused = true
				return s.revokeFamily(ctx, tx, rr.orgID, rr.clientID, rr.familyID, "oauth.refresh_reuse", audit.Denied, m)
			}
			family, amr, authTime, action = rr.familyID, rr.amr, rr.authTime, "oauth.token.refresh"
		} else if ar, ok := req.(*authRequest); ok {
			amr, authTime = ar.amr, ar.authTime
		}
		var err error
		if accessID, exp, err = s.insertAccessToken(ctx, tx, g, family); err != nil {
			return err
		}
		var hash []byte
		refresh, hash = randomToken(prefixRefresh)
		scopes, _ := json.Marshal(g.scopes)
		amrJSON, _ := json.Marshal(amr)
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_refresh_tokens (id, token_hash, family_id, client_id, org_id, user_id, scopes, amr, auth_time, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.NewString(), hash, family, g.clientID, g.orgID, g.subject, string(scopes), string(amrJSON),
			authTime.UnixMicro(), now.UnixMicro(), now.Add(s.p.cfg.RefreshTokenTTL).UnixMicro()); err != nil {
			return err
		}
		_, err = s.p.audit.Append(ctx, tx, audit.Event{Org: g.orgID, Actor: actorFor(g), Action: action, Target: "client:" + g.clientID,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent,
			Details: map[string]any{"grant": g.grant, "jti": accessID, "family": family, "scopes": g.scopes}})
		return err
	})
	if err != nil {
		return "", "", time.Time{}, s.serverError(ctx, "refresh token", err)
	}
	if reused {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	return accessID, refresh, exp, nil
}

// revokeFamily revokes every refresh and access token of one grant.
func (s *storage) revokeFamily(ctx context.Context, tx *store.Tx, org, clientID, family, action, outcome string, m Meta) error {
	now := s.p.now().UnixMicro()
	if _, err := tx.Exec(ctx, "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at = 0", now, family); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE oauth_access_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at = 0", now, family); err != nil {
		return err
	}
	_, err := s.p.audit.Append(ctx, tx, audit.Event{Org: org, Actor: "client:" + clientID, Action: action, Target: "token_family:" + family,
		Outcome: outcome, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"client_id": clientID}})
	return err
}

type refreshRow struct {
	refreshRequest
	expires, rotated, revoked int64
}

func (s *storage) loadRefresh(ctx context.Context, tx *store.Tx, where string, arg any) (refreshRow, error) {
	var r refreshRow
	var scopes, amr string
	var authTime int64
	err := tx.QueryRow(ctx, `SELECT id, family_id, client_id, org_id, user_id, scopes, amr, auth_time, expires_at, rotated_at, revoked_at
		FROM oauth_refresh_tokens WHERE `+where, arg).Scan(&r.id, &r.familyID, &r.clientID, &r.orgID, &r.userID, &scopes, &amr, &authTime,
		&r.expires, &r.rotated, &r.revoked)
	if err != nil {
		return r, err
	}
	_ = json.Unmarshal([]byte(scopes), &r.scopes)
	_ = json.Unmarshal([]byte(amr), &r.amr)
	r.authTime = time.UnixMicro(authTime).UTC()
	r.audience = s.audience(r.clientID)
	return r, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	if !strings.HasPrefix(token, prefixRefresh) || len(token) != len(prefixRefresh)+43 {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	var r refreshRow
	reused := false
	m := metaFrom(ctx)
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if r, err = s.loadRefresh(ctx, tx, "token_hash = ?", hashSecret(token)); err != nil {
			return err
		}
		if r.rotated != 0 && r.revoked == 0 {
			// A rotated token came back: it was stolen or replayed.
			// Revoke the whole family (RFC 6819 5.2.2.3).
			reused = true
			return s.revokeFamily(ctx, tx, r.orgID, r.clientID, r.familyID, "oauth.refresh_reuse", audit.Denied, m)
		}
		return nil
	})
	if store.IsNoRows(err) {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	if err != nil {
		return nil, s.serverError(ctx, "refresh token", err)
	}
	if reused || r.revoked != 0 || s.p.now().UnixMicro() >= r.expires {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	if c, err := s.p.clientByID(ctx, r.clientID); err != nil || c.RevokedAt != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	rr := r.refreshRequest
	return &rr, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	// Signing out at the provider ends the user's grants to the client.
	m := metaFrom(ctx)
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT DISTINCT family_id, org_id FROM oauth_refresh_tokens WHERE user_id = ? AND client_id = ? AND revoked_at = 0", userID, clientID)
		if err != nil {
			return err
		}
		type fam struct{ id, org string }
		var fams []fam
		for rows.Next() {
			var f fam
			if err := rows.Scan(&f.id, &f.org); err != nil {
				rows.Close()
				return err
			}
			fams = append(fams, f)
		}
		rows.Close()
		for _, f := range fams {
			if err := s.revokeFamily(ctx, tx, f.org, clientID, f.id, "oauth.end_session", audit.Success, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.serverError(ctx, "end session", err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !strings.HasPrefix(token, prefixRefresh) || len(token) != len(prefixRefresh)+43 {
		return "", "", op.ErrInvalidRefreshToken
	}
	var r refreshRow
	err := s.p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		r, err = s.loadRefresh(ctx, tx, "token_hash = ?", hashSecret(token))
		return err
	})
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.userID, "refresh:" + r.id, nil
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	m := metaFrom(ctx)
	var wrongClient bool
	err := s.p.db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if id, ok := strings.CutPrefix(tokenOrID, "refresh:"); ok {
			r, err := s.loadRefresh(ctx, tx, "id = ?", id)
			if store.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if r.clientID != clientID {
				wrongClient = true
				return nil
			}
			return s.revokeFamily(ctx, tx, r.orgID, clientID, r.familyID, "oauth.token.revoke", audit.Success, m)
		}
		if _, err := uuid.Parse(tokenOrID); err != nil {
			return nil // not one of ours: already as good as revoked (RFC 7009 2.2)
		}
		var org, owner string
		err := tx.QueryRow(ctx, "SELECT org_id, client_id FROM oauth_access_tokens WHERE id = ?", tokenOrID).Scan(&org, &owner)
		if store.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if owner != clientID {
			wrongClient = true
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE oauth_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0", s.p.now().UnixMicro(), tokenOrID); err != nil {
			return err
		}
		_, err = s.p.audit.Append(ctx, tx, audit.Event{Org: org, Actor: "client:" + clientID, Action: "oauth.token.revoke", Target: "client:" + clientID,
			Outcome: audit.Success, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"jti": tokenOrID}})
		return err
	})
	if err != nil {
		return s.serverError(ctx, "revoke", err)
	}
	if wrongClient {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	return nil
}

// --- keys ---

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.p.keys.current(ctx, PurposeTokens)
	if err != nil {
		return nil, s.serverError(ctx, "signing key", err)
	}
	return k, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{signingAlg}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	ks, err := s.p.keys.published(ctx, PurposeTokens)
	if err != nil {
		return nil, s.serverError(ctx, "key set", err)
	}
	out := make([]op.Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// --- claims ---

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ctx, info, req.GetSubject(), scopes)
}

func (s *storage) setUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	u, err := s.p.userClaims(ctx, userID)
	if err != nil {
		return s.toOIDC(ctx, "userinfo", err)
	}
	info.Subject = userID
	info.AppendClaims("org", u.org)
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.email
		info.EmailVerified = oidc.Bool(true) // invitations are accepted from the mailbox
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = u.email
	}
	return nil
}

// tokenRow is an issued access token as recorded.
type tokenRow struct {
	clientID, orgID, subject string
	scopes                   []string
	expires, revoked         int64
	clientRevoked            int64
}

func (p *Provider) loadToken(ctx context.Context, jti string) (tokenRow, error) {
	var t tokenRow
	if _, err := uuid.Parse(jti); err != nil {
		return t, errs.E(errs.NotFound, "oidc.token", "unknown token")
	}
	var scopes string
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT t.client_id, t.org_id, t.subject, t.scopes, t.expires_at, t.revoked_at, COALESCE(c.revoked_at, 1)
			FROM oauth_access_tokens t LEFT JOIN oauth_clients c ON c.id = t.client_id WHERE t.id = ?`, jti).
			Scan(&t.clientID, &t.orgID, &t.subject, &scopes, &t.expires, &t.revoked, &t.clientRevoked)
	})
	if store.IsNoRows(err) {
		return t, errs.E(errs.NotFound, "oidc.token", "unknown token")
	}
	if err != nil {
		return t, dbErr("oidc.token", err)
	}
	_ = json.Unmarshal([]byte(scopes), &t.scopes)
	if t.revoked != 0 || t.clientRevoked != 0 || p.now().UnixMicro() >= t.expires {
		return t, errs.E(errs.Unauthorized, "oidc.token", "the token has been revoked or has expired")
	}
	return t, nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	t, err := s.p.loadToken(ctx, tokenID)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Unauthorized {
			return oidc.ErrAccessDenied().WithDescription("the token has been revoked or has expired")
		}
		return s.serverError(ctx, "userinfo", err)
	}
	if t.subject == t.clientID {
		return oidc.ErrInvalidRequest().WithDescription("a client's own token has no user")
	}
	return s.setUserinfo(ctx, info, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.p.loadToken(ctx, tokenID)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Unauthorized {
			return oidc.ErrInvalidRequest().WithDescription("inactive")
		}
		return s.serverError(ctx, "introspect", err)
	}
	// A client may introspect the tokens of its own organization only.
	c, err := s.p.clientByID(ctx, clientID)
	if err != nil || c.OrgID != t.orgID {
		return oidc.ErrInvalidRequest().WithDescription("inactive")
	}
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Subject = t.subject
	resp.Expiration = oidc.FromTime(time.UnixMicro(t.expires))
	resp.Audience = s.audience(t.clientID)
	resp.TokenType = oidc.BearerToken
	resp.Claims = map[string]any{"org": t.orgID}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	g, ok := infoOf(req)
	if !ok {
		return nil, oidc.ErrUnsupportedGrantType()
	}
	claims := map[string]any{"org": g.orgID, "scope": strings.Join(g.scopes, " "), "roles": []string{}}
	if g.subject != g.clientID {
		u, err := s.p.userClaims(ctx, g.subject)
		if err != nil {
			return nil, s.toOIDC(ctx, "claims", err)
		}
		claims["roles"] = u.roles
	}
	return claims, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(ctx context.Context) error { return s.p.db.Ping(ctx) }

// userInfo is what tokens say about a member.
type userInfo struct {
	org, email string
	roles      []string
}

func (p *Provider) userClaims(ctx context.Context, userID string) (userInfo, error) {
	var u userInfo
	err := p.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var status string
		err := tx.QueryRow(ctx, "SELECT org_id, email, status FROM users WHERE id = ?", userID).Scan(&u.org, &u.email, &status)
		if store.IsNoRows(err) || (err == nil && status != "active") {
			return errs.E(errs.NotFound, "oidc.user", "no such user")
		}
		if err != nil {
			return dbErr("oidc.user", err)
		}
		rows, err := tx.Query(ctx, "SELECT role FROM user_roles WHERE org_id = ? AND user_id = ? ORDER BY role", u.org, userID)
		if err != nil {
			return dbErr("oidc.user", err)
		}
		defer rows.Close()
		u.roles = []string{}
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				return dbErr("oidc.user", err)
			}
			u.roles = append(u.roles, r)
		}
		return rows.Err()
	})
	return u, err
}
