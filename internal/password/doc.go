// Package password owns how Rampart stores and judges passwords
// (requirements IA2 and IA3).
//
// # Storing passwords
//
// A Hasher turns a password into an argon2id hash in PHC string format,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in unpadded standard base64), and checks a password against
// such a string. Nobody can read a password back: the hash is salted,
// memory-hard and one-way.
//
//	h := password.NewHasher(password.DefaultParams(), 0)
//	phc, err := h.Hash(ctx, pw)                     // store phc
//	ok, rehash, err := h.Verify(ctx, phc, pw)       // on login
//	if ok && rehash { phc, err = h.Hash(ctx, pw) }  // parameters changed: upgrade
//	err = h.VerifyDummy(ctx, pw)                    // unknown user: spend the same time
//
// argon2id costs memory on purpose, so a flood of logins could exhaust a
// server's memory. Every Hasher bounds the argon2 work in flight with a
// semaphore: at most MemoryBound bytes are ever in use for hashing, and
// callers beyond the bound wait (as long as their ctx allows) instead of
// allocating. Stored hashes are parsed strictly and with limits, so a hostile
// or corrupt value in the database cannot make the server allocate much.
//
// # Judging passwords
//
// A Policy is an organization's password rules: lengths, optional character
// classes, rejection of the 10,000 most common passwords (embedded, see
// COMMON-PASSWORDS.md) and of passwords that contain the user's email local
// part. Policy.Check reports every rule a password breaks at once, as one
// sentence and as a list of Violation values for the API's error details;
// neither ever contains the password.
//
// The package writes no cryptography itself: argon2id is
// golang.org/x/crypto/argon2 and comparisons are crypto/subtle.
package password
