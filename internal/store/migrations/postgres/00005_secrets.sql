-- +goose Up
-- Credential vault (issue 5, DP4): third-party credentials (passwords, API
-- keys, OAuth tokens) of an organization. Every query filters by org_id.
--
-- ciphertext is the value sealed with the organization's AEAD keyset, bound
-- by associated data to (org, "secrets", id, version); it is NULL once the
-- secret is revoked, and the CHECK makes a revoked row that still holds a
-- value impossible. metadata is a JSON object of facts that are NOT secret
-- (description, username, url): it is stored and returned in clear.
CREATE TABLE secrets (
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,
    ciphertext   BYTEA,
    metadata     TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    revoked_by   TEXT,
    last_used_at BIGINT,
    PRIMARY KEY (org_id, id),
    CHECK ((revoked_at IS NULL) = (ciphertext IS NOT NULL))
);
-- A name is unique among the organization's secrets that are not revoked:
-- a revoked secret's name can be reused for its replacement.
CREATE UNIQUE INDEX secrets_live_name ON secrets (org_id, name) WHERE revoked_at IS NULL;
CREATE INDEX secrets_list ON secrets (org_id, created_at, id);

-- +goose Down
DROP TABLE secrets;
