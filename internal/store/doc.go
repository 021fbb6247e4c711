// Package store owns every SQL statement Rampart runs and the two databases it
// runs them on: SQLite (the embedded default: one file, WAL, synchronous=FULL,
// foreign keys on) and PostgreSQL (production, through pgx).
//
// Work is done in transactions expressed as closures over a *Tx: a data change
// and the audit entry that records it commit together or not at all. Queries
// are written once with '?' placeholders and rebound for PostgreSQL; values
// are always passed as parameters, never formatted into SQL.
//
// SQLite allows one writer at a time, so on SQLite every write transaction is
// handed to a single writer goroutine that commits the closures queued while
// the previous commit was syncing as one transaction (group commit), each
// closure isolated by a savepoint. A caller's Write returns only after the
// fsync of the commit that contains it: durable, and many times faster than
// one fsync per closure.
package store
