package oidc

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampart-platform/rampart/internal/errs"
)

// AccessClaims is what a verified access token says.
type AccessClaims struct {
	ID       string // jti
	OrgID    string
	Subject  string
	ClientID string
	Scopes   []string
	Roles    []string
	Expiry   time.Time
}

// maxTokenLen refuses absurd bearer tokens before any parsing.
const maxTokenLen = 8 << 10

// errBadToken is the one answer to any unusable token.
func errBadToken() error {
	return errs.E(errs.Unauthorized, "oidc.VerifyAccessToken", "invalid or expired access token")
}

// VerifyAccessToken checks a bearer access token for the gateway and the
// API: signature against the published token keys, issuer, expiry,
// audience (the deployment's APIs), and that neither it nor its client was
// revoked. Every failure is the same Unauthorized error.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (AccessClaims, error) {
	if token == "" || len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return AccessClaims{}, errBadToken()
	}
	v := op.NewAccessTokenVerifier(p.issuer, &op.OpenIDKeySet{Storage: &storage{p: p}})
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, v)
	if err != nil || claims == nil {
		return AccessClaims{}, errBadToken()
	}
	if !slices.Contains([]string(claims.Audience), p.APIAudience()) {
		return AccessClaims{}, errBadToken()
	}
	t, err := p.loadToken(ctx, claims.JWTID)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Unauthorized {
			return AccessClaims{}, errBadToken()
		}
		return AccessClaims{}, err
	}
	if t.subject != claims.Subject || t.clientID != claims.ClientID {
		return AccessClaims{}, errBadToken()
	}
	out := AccessClaims{ID: claims.JWTID, OrgID: t.orgID, Subject: t.subject, ClientID: t.clientID, Scopes: t.scopes,
		Expiry: claims.Expiration.AsTime()}
	if roles, ok := claims.Claims["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok {
				out.Roles = append(out.Roles, s)
			}
		}
	}
	return out, nil
}

// assertionTTL is how long a gateway identity assertion is valid: it is
// made per call and checked at once by the upstream.
const assertionTTL = 60 * time.Second

// Assertion is what the gateway tells an upstream about a caller.
type Assertion struct {
	OrgID    string
	Subject  string
	ClientID string
	Scopes   []string
	Audience string // the route prefix
}

// SignAssertion makes the short-lived identity assertion the gateway
// forwards in X-Rampart-Identity: a JWT (ES256) signed by the gateway key,
// verifiable with the JWKS at PathGatewayKeys.
func (p *Provider) SignAssertion(ctx context.Context, a Assertion) (string, error) {
	k, err := p.keys.current(ctx, PurposeGateway)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: signingAlg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("rampart-identity+jwt"))
	if err != nil {
		return "", errs.E("oidc.SignAssertion", err)
	}
	now := p.now()
	claims := struct {
		jwt.Claims
		Org      string `json:"org"`
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}{
		Claims: jwt.Claims{Issuer: p.issuer, Subject: a.Subject, Audience: jwt.Audience{a.Audience}, ID: uuid.NewString(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(assertionTTL))},
		Org: a.OrgID, ClientID: a.ClientID, Scope: strings.Join(a.Scopes, " "),
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", errs.E("oidc.SignAssertion", err)
	}
	return s, nil
}

// GatewayKeysURL is where upstreams fetch the gateway's public keys.
func (p *Provider) GatewayKeysURL() string { return p.cfg.PublicURL + PathGatewayKeys }

func (p *Provider) gatewayKeys(w http.ResponseWriter, r *http.Request) {
	set, err := p.keys.jwks(r.Context(), PurposeGateway)
	if err != nil {
		p.log.ErrorContext(r.Context(), "gateway keys", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(set)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// metaKey carries the caller's address in the context of protocol calls.
type metaKey struct{}

func withMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), metaKey{}, requestMeta(r))))
	})
}

func requestMeta(r *http.Request) Meta {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return Meta{IP: ip, UserAgent: ua}
}

func metaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}
