// Package backup makes, lists, prunes, verifies and restores encrypted
// backups of a Rampart instance (FEATURES RS2, RS3, DP3 and the restore half
// of B3).
//
// A backup is one archive: a tar stream of a consistent snapshot of the
// database plus a manifest (format version, time, Rampart and schema
// versions, dialect, row count per table, SHA-256 and size of every member),
// encrypted with filippo.io/age to one or more X25519 recipients. The
// identity (private key) never needs to be on the server: only verify,
// restore and the drill ask for it. The snapshot is:
//
//   - SQLite: VACUUM INTO a temporary file from a separate read connection,
//     which sees one WAL snapshot while the server keeps writing.
//   - PostgreSQL: COPY ... TO STDOUT (binary format) of every table of the
//     instance's schema inside one REPEATABLE READ, READ ONLY transaction
//     through pgx. pg_dump is not used: its version must match the server's,
//     which is not true on every machine; COPY needs nothing but the
//     connection. A restore creates the schema with the normal migrations and
//     loads each table with COPY ... FROM STDIN.
//
// The root key is NOT in the archive. Without it the wrapped organization
// keysets in a backup cannot be unwrapped, so a backup alone (even
// decrypted) does not reveal tenant data; a restore needs both the age
// identity and the instance's root key.
//
// Archives go to a Target: a directory (another disk, ideally) or an
// S3-compatible bucket. A backup is only ever listed complete: the data
// object is written first (atomically: temporary name + fsync + rename in a
// directory, a single upload on S3) and the small listing object last, and
// List reads listing objects only.
//
// Crypto-shredding survives restores: every tombstone (tombstone.Tombstone)
// is also written under tombstones/ in the target, by a Publisher when it
// happens and again by every backup, and a restore applies all of them
// before the restored instance serves.
//
// Temporary files of a backup, verify or restore hold database contents
// (and, after decryption, the snapshot): they are created 0600 in a 0700
// directory and removed at the end.
package backup
