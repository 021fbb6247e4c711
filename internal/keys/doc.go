// Package keys owns Rampart's key hierarchy (requirements DP1, DP2, B3):
//
//	root key (RootKey: a local key file or a KMS)
//	  └─ per-organization Tink keysets, stored in the database wrapped by the root key
//	       ├─ AEAD (AES-256-GCM) for records, secrets and small values
//	       └─ streaming AEAD (AES-256-GCM-HKDF, 1 MiB segments) for files
//
// Every ciphertext is bound to its organization and to the caller's
// associated data (see AssociatedData), so it cannot be moved to another
// tenant, row or column. Rotation adds a new primary key; older keys keep
// decrypting. Shredding deletes the keyset and leaves a tombstone: every
// ciphertext of that organization, in the database or in any backup, is then
// unreadable for good.
//
// The package writes no cryptography itself: primitives are Tink's.
package keys
