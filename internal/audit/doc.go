// Package audit owns Rampart's tamper-evident audit log (requirements AM1,
// AM2, RF3).
//
// Each organization has its own chain (the empty organization id holds
// platform events): entry n stores the SHA-256 of its canonical encoding
// together with entry n-1's hash, so altering, removing or reordering any
// entry breaks every link after it. Every N entries (and on a timer) the
// head of a chain is signed with an Ed25519 key whose private half is kept
// wrapped by the root key, so even someone who can rewrite the database
// cannot forge a consistent history past a signed checkpoint. Verify walks
// the chains and checkpoints and reports the first broken entry of each.
//
// Entries are appended inside the caller's transaction: a change and the
// entry that records it commit together or not at all. Details are
// names and ids, never values; keys that look like secrets are redacted
// before anything is written.
package audit
