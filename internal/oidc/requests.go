package oidc

import (
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authParams are the parameters of an authorization request, kept as JSON.
type authParams struct {
	RedirectURI         string   `json:"redirect_uri"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	Scopes              []string `json:"scopes"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	LoginHint           string   `json:"login_hint,omitempty"`
}

// authRequest is a stored authorization request (op.AuthRequest).
type authRequest struct {
	id, clientID, orgID string
	params              authParams
	userID              string
	authTime            time.Time
	amr                 []string
	done                bool
	audience            []string
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return a.amr }
func (a *authRequest) GetAudience() []string  { return a.audience }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.clientID }
func (a *authRequest) GetNonce() string       { return a.params.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.params.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.params.Scopes }
func (a *authRequest) GetState() string       { return a.params.State }
func (a *authRequest) GetSubject() string     { return a.userID }
func (a *authRequest) Done() bool             { return a.done }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.params.ResponseType)
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.params.ResponseMode)
}
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.params.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.params.CodeChallenge, Method: oidc.CodeChallengeMethod(a.params.CodeChallengeMethod)}
}

// LogValue keeps state, nonce and the PKCE challenge out of the logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.id), slog.String("client_id", a.clientID), slog.Any("scopes", a.params.Scopes))
}

// clientCredentialsRequest is a client acting for itself.
type clientCredentialsRequest struct {
	clientID, orgID string
	scopes          []string
	audience        []string
}

var _ op.TokenRequest = (*clientCredentialsRequest)(nil)

func (c *clientCredentialsRequest) GetSubject() string    { return c.clientID }
func (c *clientCredentialsRequest) GetAudience() []string { return c.audience }
func (c *clientCredentialsRequest) GetScopes() []string   { return c.scopes }

// refreshRequest is the grant behind a refresh token (op.RefreshTokenRequest).
type refreshRequest struct {
	id, familyID, clientID, orgID, userID string
	scopes, amr, audience                 []string
	authTime                              time.Time
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string                 { return r.amr }
func (r *refreshRequest) GetAudience() []string            { return r.audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.userID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// opClient adapts a Client to op.Client.
type opClient struct {
	c     Client
	login func(id string) string
}

var _ op.Client = opClient{}

func (o opClient) GetID() string                    { return o.c.ID }
func (o opClient) RedirectURIs() []string           { return o.c.RedirectURIs }
func (o opClient) PostLogoutRedirectURIs() []string { return o.c.RedirectURIs }
func (o opClient) ApplicationType() op.ApplicationType {
	if o.c.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}
func (o opClient) AuthMethod() oidc.AuthMethod {
	if o.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (o opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (o opClient) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(o.c.GrantTypes))
	for _, g := range o.c.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (o opClient) LoginURL(id string) string            { return o.login(id) }
func (o opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (o opClient) IDTokenLifetime() time.Duration       { return idTokenTTL }
func (o opClient) DevMode() bool                        { return false }
func (o opClient) IsScopeAllowed(scope string) bool     { return o.c.allowsScope(scope) }
func (o opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (o opClient) ClockSkew() time.Duration             { return clockSkew }
func (o opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (o opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
