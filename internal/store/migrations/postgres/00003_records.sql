-- +goose Up
-- Records (issue 5, RF1): per-organization collections of JSON documents.
-- Every row carries org_id; every query filters by the principal's organization.

-- Collections: the name, an optional JSON Schema and the declared indexed
-- fields (a JSON array of top-level field names). Schemas are configuration
-- written by administrators, not customer data, and are stored as text.
CREATE TABLE record_collections (
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    schema         TEXT NOT NULL DEFAULT '',
    indexed_fields TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Records: the body is ciphertext under the organization's AEAD keyset with
-- associated data naming collection, id and version (the manager adds the org).
CREATE TABLE records (
    org_id     TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    body       BYTEA NOT NULL,
    PRIMARY KEY (org_id, collection, id)
);
CREATE INDEX records_list ON records (org_id, collection, created_at, id);

-- Blind indexes: HMAC-SHA-256 under a per-organization key of the
-- normalized value of an indexed field, for exact-match search.
CREATE TABLE record_index (
    org_id     TEXT NOT NULL,
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    token      BYTEA NOT NULL,
    record_id  TEXT NOT NULL
);
CREATE INDEX record_index_lookup ON record_index (org_id, collection, field, token);
CREATE INDEX record_index_record ON record_index (org_id, collection, record_id);

-- The per-organization blind-index key, encrypted with the org's keyset.
CREATE TABLE record_index_keys (
    org_id     TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE record_index_keys;
DROP TABLE record_index;
DROP TABLE records;
DROP TABLE record_collections;
