-- +goose Up
-- Files (issue 5, RF2): encrypted files, stored in parts. Every row carries
-- org_id; every query filters by the principal's organization.

-- One row per file. state is 'uploading' from the first part until the final
-- commit, 'complete' once readable, 'deleting' while its parts are removed;
-- only 'complete' files are ever listed or read. size, part_size and parts
-- are plaintext so ranges can be computed, and are repeated inside meta,
-- which is ciphertext under the organization's AEAD keyset (file name,
-- content type, SHA-256 of the plaintext) with associated data naming the
-- file id, so a change to any of them is detected on open.
CREATE TABLE files (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    state      TEXT NOT NULL,
    store      TEXT NOT NULL,
    size       BIGINT NOT NULL DEFAULT 0,
    part_size  BIGINT NOT NULL,
    parts      BIGINT NOT NULL DEFAULT 0,
    meta       BYTEA,
    collection TEXT NOT NULL DEFAULT '',
    record_id  TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX files_list ON files (org_id, state, created_at, id);
CREATE INDEX files_janitor ON files (state, created_at);

-- The parts of files kept in the database (files.store = database): each is
-- one AEAD ciphertext of up to part_size plaintext bytes, bound to org, file
-- id, index and whether it is the last part.
CREATE TABLE file_chunks (
    org_id  TEXT NOT NULL,
    file_id TEXT NOT NULL,
    idx     BIGINT NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (org_id, file_id, idx)
);

-- +goose Down
DROP TABLE file_chunks;
DROP TABLE files;
