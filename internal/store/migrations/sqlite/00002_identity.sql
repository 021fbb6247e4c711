-- +goose Up
-- Identity (issue 3). Every row carries org_id; every query filters by the
-- organization of the authenticated principal.

-- Per-organization settings: password policy (JSON) and the 2FA requirement.
CREATE TABLE org_settings (
    org_id          TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    password_policy TEXT NOT NULL,
    require_mfa     INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL,
    status              TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    -- TOTP secret, encrypted with the organization's keyset and bound to the user.
    totp_secret         BLOB,
    totp_enabled        INTEGER NOT NULL DEFAULT 0,
    -- Last accepted TOTP time step: codes at or before it are replays.
    totp_last_step      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, email)
);

CREATE TABLE user_roles (
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_org ON user_roles (org_id, role);

CREATE TABLE custom_roles (
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    permissions TEXT NOT NULL,
    collections TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Single-use recovery codes, stored hashed.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    hash    BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, idx)
);

-- Server-side sessions; the cookie holds the token, the table its SHA-256.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (org_id, user_id);

-- Personal API tokens, stored hashed.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (org_id, user_id);

-- Single-use, expiring tokens: invitations, password resets, bootstrap.
CREATE TABLE one_time_tokens (
    token_hash  BLOB PRIMARY KEY,
    purpose     TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL DEFAULT 0,
    id          TEXT NOT NULL UNIQUE
);
CREATE INDEX one_time_tokens_org ON one_time_tokens (org_id, purpose);

-- +goose Down
DROP TABLE one_time_tokens;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE recovery_codes;
DROP TABLE custom_roles;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE org_settings;
