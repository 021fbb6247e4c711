-- +goose Up
-- Times are Unix microseconds (UTC) in both dialects, so values compare and
-- hash identically on SQLite and PostgreSQL.
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Per-organization Tink keysets, each encrypted by the root key with
-- associated data naming the organization and column.
CREATE TABLE org_keysets (
    org_id        TEXT PRIMARY KEY,
    aead_keyset   BLOB NOT NULL,
    stream_keyset BLOB NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    rotated_at    INTEGER NOT NULL
);

-- Crypto-shredding record: an organization listed here has no keys, for good.
CREATE TABLE org_tombstones (
    org_id      TEXT PRIMARY KEY,
    shredded_at INTEGER NOT NULL
);

-- Platform signing keys (audit checkpoints), private half wrapped by the root key.
CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    purpose         TEXT NOT NULL,
    public_key      BLOB NOT NULL,
    wrapped_private BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);

-- The audit log: one hash chain per organization ('' = platform events).
CREATE TABLE audit_events (
    org_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);

-- The newest entry of each chain; also the row that serialises appends.
CREATE TABLE audit_heads (
    org_id         TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL,
    hash           BLOB NOT NULL,
    checkpoint_seq INTEGER NOT NULL,
    checkpoint_at  INTEGER NOT NULL
);

CREATE TABLE audit_checkpoints (
    org_id    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    hash      BLOB NOT NULL,
    at        INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_heads;
DROP TABLE audit_events;
DROP TABLE signing_keys;
DROP TABLE org_tombstones;
DROP TABLE org_keysets;
DROP TABLE organizations;
