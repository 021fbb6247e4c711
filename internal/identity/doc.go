// Package identity owns organizations' people and how they prove who they
// are (IA1-IA4, IA8, B2): users and their roles, argon2id passwords checked
// against the organization's policy, TOTP second factor with single-use
// recovery codes, server-side sessions, personal API tokens, and brute-force
// lockout.
//
// Every method takes the organization from its caller's authenticated
// principal (or, for login, from the request, where a wrong organization
// behaves exactly like a wrong password). Secrets are stored only as hashes
// (session, API, reset and invite tokens; recovery codes; passwords) or
// encrypted with the organization's keyset (TOTP secrets). Every security
// event writes an audit entry in the same transaction as its change.
package identity
