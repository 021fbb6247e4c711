-- +goose Up
-- Organization deletion (issue 5, B3) needs two people: an owner of the
-- organization asks for it, a platform operator confirms. The request waits
-- here; confirming crypto-shreds the organization and deletes its rows,
-- this one included.
CREATE TABLE org_deletion_requests (
    org_id       TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE org_deletion_requests;
