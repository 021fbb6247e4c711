package kyc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
)

// IdentityHeader carries the API gateway's signed identity assertion
// (internal/gateway.IdentityHeader; repeated here so that the verification
// service does not import the gateway).
const IdentityHeader = "X-Rampart-Identity"

// AssertionVerifier checks the gateway's identity assertions for the
// internal verification service (K4): an ES256 JWT signed by the gateway
// key (published as a JWKS at the provider's /oauth/gateway/keys), from the
// expected issuer, for the service's route prefix, unexpired, and carrying
// the scope kyc.verify.
type AssertionVerifier struct {
	Issuer   string // the deployment's public URL with a trailing "/"
	Audience string // the gateway route prefix, e.g. "/gw/kyc/"
	// Keys returns the gateway's public keys, given the key id the
	// assertion names (a source may refetch for an id it has not seen: the
	// gateway key rotated); see JWKSFromFile, JWKSFromURL.
	Keys func(ctx context.Context, kid string) (jose.JSONWebKeySet, error)
	Now  func() time.Time
}

type assertionClaims struct {
	jwt.Claims
	Org      string `json:"org"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// Principal verifies the request's assertion and returns the caller as a
// client principal whose only permission is kyc.verify (the gateway has
// already checked the token and its scopes; the assertion says so, signed).
// Errors: errs.Unauthorized for a missing or invalid assertion (all alike),
// errs.Forbidden when it lacks the scope kyc.verify.
func (v *AssertionVerifier) Principal(r *http.Request) (authz.Principal, error) {
	const op = "kyc.AssertionVerifier"
	bad := errs.E(errs.Unauthorized, op, "a valid gateway identity assertion is required: call this service through the API gateway")
	raw := r.Header.Get(IdentityHeader)
	if raw == "" || len(raw) > 8<<10 {
		return authz.Principal{}, bad
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return authz.Principal{}, bad
	}
	if len(tok.Headers) != 1 {
		return authz.Principal{}, bad
	}
	keys, err := v.Keys(r.Context(), tok.Headers[0].KeyID)
	if err != nil {
		return authz.Principal{}, errs.E(errs.Unavailable, op, "the gateway's keys cannot be loaded", err)
	}
	var c assertionClaims
	if err := tok.Claims(keys, &c); err != nil {
		return authz.Principal{}, bad
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err := c.Validate(jwt.Expected{Issuer: v.Issuer, AnyAudience: jwt.Audience{v.Audience}, Time: now()}); err != nil || c.Subject == "" || c.Org == "" {
		return authz.Principal{}, bad
	}
	if !slices.Contains(strings.Fields(c.Scope), string(authz.KYCVerify)) {
		return authz.Principal{}, errs.E(errs.Forbidden, op, "missing permission kyc.verify (the token lacks the scope)")
	}
	return authz.Principal{
		UserID: c.Subject, OrgID: c.Org, Kind: authz.KindClient,
		Roles:            []authz.Role{{Name: "gateway-assertion", Permissions: []authz.Permission{authz.KYCVerify}}},
		TokenPermissions: []authz.Permission{authz.KYCVerify},
	}, nil
}

// JWKSFromFile reads a JWKS file on every call (it is small, and a
// rotated key is then picked up at once).
func JWKSFromFile(path string) func(context.Context, string) (jose.JSONWebKeySet, error) {
	return func(context.Context, string) (jose.JSONWebKeySet, error) {
		var set jose.JSONWebKeySet
		b, err := os.ReadFile(path) // #nosec G304 -- operator-configured path
		if err != nil {
			return set, err
		}
		return set, json.Unmarshal(b, &set)
	}
}

// jwksMaxAge is how long fetched gateway keys are used without asking
// again; jwksMinRefetch bounds how often an unknown key id makes the
// source fetch early (a rotated gateway key), so forged ids cannot turn
// every request into a fetch.
var (
	jwksMaxAge     = 5 * time.Minute
	jwksMinRefetch = 10 * time.Second
)

// JWKSFromURL fetches the JWKS and caches it for five minutes, fetching
// early (at most every ten seconds) when an assertion names a key id the
// cached set lacks, so a rotated gateway key is picked up at once.
func JWKSFromURL(url string, client *http.Client) func(context.Context, string) (jose.JSONWebKeySet, error) {
	var (
		mu      sync.Mutex
		cached  jose.JSONWebKeySet
		fetched time.Time
	)
	return func(ctx context.Context, kid string) (jose.JSONWebKeySet, error) {
		mu.Lock()
		defer mu.Unlock()
		age := time.Since(fetched)
		known := kid == "" || len(cached.Key(kid)) > 0
		if age < jwksMaxAge && (known || age < jwksMinRefetch) {
			return cached, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return cached, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return cached, err
		}
		defer func() { _ = resp.Body.Close() }()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
			return cached, errs.E(errs.Unavailable, "kyc.JWKSFromURL", "unreadable gateway keys")
		}
		cached, fetched = set, time.Now()
		return cached, nil
	}
}
