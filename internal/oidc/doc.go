// Package oidc is Rampart's OAuth 2.0 / OpenID Connect provider (IA5).
//
// The protocol is github.com/zitadel/oidc/v3/pkg/op, a certified OpenID
// provider library; this package implements its storage (op.Storage and
// op.ClientCredentialsStorage) on Rampart's database, keys and identity
// service, and adds what the library leaves to its user: the clients of
// each organization (secrets hashed, shown once), the deployment's signing
// keys (ES256, private keys wrapped by the root key, rotated on a schedule
// with overlap), the sign-in and consent pages of the authorization
// endpoint, refresh-token families with reuse detection, and the audit
// trail of every issuance, refresh, revocation, consent and failed client
// authentication.
//
// Access tokens are short-lived JWTs carrying org, sub, scope, roles,
// client_id and jti; each is recorded by its jti so that it can be revoked
// and introspected. VerifyAccessToken checks one for the API gateway.
package oidc
