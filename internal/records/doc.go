// Package records owns an organization's collections of JSON documents
// (FEATURES RF1) and the audit of their changes (RF3).
//
// A collection has a name, an optional JSON Schema that every write must
// satisfy and up to MaxIndexedFields declared top-level fields that can be
// searched by exact match. A record is a JSON object of at most MaxDataSize
// bytes with a server-assigned id (a UUID), a version that starts at 1 and
// grows by one on every change (the ETag for If-Match), timestamps and the
// member who created it.
//
// Security properties:
//   - Every query filters by the principal's organization; a record of
//     another organization or collection is errs.NotFound "no such record",
//     exactly like a missing one.
//   - The body is encrypted with the organization's AEAD keyset (keys.Manager)
//     with associated data ("records", collection, id, version), and the
//     manager binds the organization: a ciphertext moved to another row,
//     collection, version or tenant fails to decrypt with errs.Integrity.
//   - Indexed fields are stored only as blind indexes: HMAC-SHA-256 of the
//     normalized value under a random per-organization key, itself stored
//     encrypted under the organization's keyset (so crypto-shredding the
//     keyset also makes the tokens unlinkable to values).
//   - Every change writes an audit entry in the same transaction, naming the
//     collection, id, version and top-level field names, never values.
//
// DeleteCollection refuses a collection that still holds records
// (errs.Conflict): deleting customer data in bulk must be an explicit,
// per-record (audited) act, not a side effect of a schema change.
package records
