-- +goose Up
-- OAuth 2.0 / OpenID Connect provider and API gateway (issue 4, IA5, PE5).
-- No token, code or secret is stored in clear: only SHA-256 hashes of
-- 256-bit random values (as for API tokens) and, for signing keys, the
-- private key wrapped by the root key.

-- Clients belong to one organization. secret_hash is empty for public
-- clients; revoked_at > 0 disables the client and every token it holds.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    secret_hash   BYTEA,
    public        BIGINT NOT NULL DEFAULT 0,
    first_party   BIGINT NOT NULL DEFAULT 0,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_clients_org ON oauth_clients (org_id);

-- Authorization requests waiting for the user to sign in and consent; the
-- request parameters are kept as JSON. code_hash is set once a code is issued.
CREATE TABLE oauth_auth_requests (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    params      TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    auth_time   BIGINT NOT NULL DEFAULT 0,
    amr         TEXT NOT NULL DEFAULT '[]',
    done        BIGINT NOT NULL DEFAULT 0,
    code_hash   BYTEA UNIQUE,
    binding     BYTEA,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oauth_auth_requests_expiry ON oauth_auth_requests (expires_at);

-- Access tokens issued (JWTs; the row is keyed by the jti) so that they can
-- be revoked before they expire and introspected.
CREATE TABLE oauth_access_tokens (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    family_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_access_tokens_expiry ON oauth_access_tokens (expires_at);
CREATE INDEX oauth_access_tokens_family ON oauth_access_tokens (family_id);

-- Refresh tokens rotate on every use; all generations of one grant share a
-- family_id. Presenting a rotated token again revokes the whole family.
CREATE TABLE oauth_refresh_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    amr         TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);

-- Deployment-wide signing keys (purpose 'oidc' for tokens, 'gateway' for
-- identity assertions). The private key is wrapped by the root key with
-- associated data naming the row; the public JWK stays published until
-- retire_at, after every token it signed has expired.
CREATE TABLE oauth_signing_keys (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    private_key  BYTEA NOT NULL,
    root_key_id  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    active_until BIGINT NOT NULL,
    retire_at    BIGINT NOT NULL
);
CREATE INDEX oauth_signing_keys_purpose ON oauth_signing_keys (purpose, created_at);

-- Consents a user gave to a third-party client, per scope set.
CREATE TABLE oauth_consents (
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Initial access tokens for Dynamic Client Registration (RFC 7591): made
-- by an organization admin, single use, expiring; only the hash is kept.
-- scopes bounds the custom scopes the registered client may have.
CREATE TABLE oauth_registration_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE oauth_registration_tokens;
DROP TABLE oauth_consents;
DROP TABLE oauth_signing_keys;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_auth_requests;
DROP TABLE oauth_clients;
