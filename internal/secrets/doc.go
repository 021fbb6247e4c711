// Package secrets is the organization's credential vault (FEATURES DP4):
// passwords, API keys and OAuth tokens for other services, stored so that
// the platform can use them and people cannot read them back.
//
// A secret has a name (unique among the organization's secrets that are
// not revoked), a type (password, api_key or oauth_token), an encrypted
// value, non-secret metadata, a version that grows on every new value, an
// optional expiry, and the times it was created, changed, last used and
// revoked.
//
// Who can do what:
//   - secrets.manage creates secrets, lists and reads their metadata, gives
//     them a new value (Rotate) and revokes them. It never shows a value:
//     values are write-only for people.
//   - secrets.use reads a value. Over HTTP only a non-interactive
//     credential may do it (an API token, an OAuth client), never a
//     signed-in session or a support operator, so the console cannot show
//     a value even to an owner (Reveal, errs.Forbidden for people). The API
//     gateway uses Use in process, so the value is injected into an
//     upstream call and never leaves the platform. Both are audited with
//     the stated purpose, and both answer errs.Shredded (410) for a
//     revoked or expired secret.
//
// Security properties:
//   - The value is sealed with the organization's AEAD keyset (keys.Manager)
//     under associated data (org, "secrets", id, version): a ciphertext
//     moved to another row, version or tenant fails with errs.Integrity.
//   - Revoke NULLs the ciphertext in the same transaction that sets
//     revoked_at and writes the audit entry, then publishes a tombstone so
//     that a restore of an older backup destroys the value again
//     (ApplyTombstone). Copies of the old ciphertext that the database
//     engine still holds (free pages without secure_delete, PostgreSQL dead
//     tuples until VACUUM, write-ahead logs, backups) stay encrypted under
//     the organization's key; crypto-shredding the organization makes them
//     unreadable for good.
//   - Values never appear in errors, audit entries, metadata answers or
//     logs: Value formats, logs and marshals as "[REDACTED]", validation
//     messages name the rule and never quote the input, and audit entries
//     carry ids, names, types, versions and the purpose only.
//   - Metadata is NOT secret: it is stored in clear and shown to every
//     holder of secrets.manage. Field names that say "secret" (password,
//     token, api_key, ...) and values shaped like credentials (bearer
//     tokens, JWTs, PEM keys, URLs with a password) are refused, so a
//     credential is not put there by mistake.
package secrets
