// Package totp owns the logic of Rampart's second factor (requirement IA4):
// TOTP enrolment (RFC 6238, with an otpauth:// URI and its QR code), code
// checking with replay protection, and single-use recovery codes. It holds
// no state and touches no database; the OTP arithmetic is
// github.com/pquerna/otp's and the randomness is crypto/rand's.
//
// # What the caller (the identity package) must store
//
//   - The TOTP secret, Enrollment.Secret: 20 raw bytes, encrypted with the
//     organization's keyset (internal/keys) and bound to its row and column
//     by associated data. It is stored first as "pending" and only becomes
//     the user's factor after a first valid code confirms it (Check with
//     NoStepUsed), which proves the authenticator app holds the same secret.
//     Never store or log the URI or the QR image: both contain the secret.
//   - The last used time step, an int64 per user, initially NoStepUsed. Check
//     rejects any code whose time step is not after it and returns the step
//     it matched; the caller saves that step. Because the step lives in the
//     database, "each code is usable once" holds across restarts and across
//     nodes. Two concurrent logins with the same code must not both win: save
//     the step with a compare-and-set in the same transaction as the login,
//     e.g. UPDATE ... SET totp_last_step = $new WHERE user_id = $u AND
//     totp_last_step < $new, and treat "no row updated" as a replay.
//   - The recovery code hashes from GenerateRecoveryCodes (32 bytes each).
//     The codes themselves are shown to the user once and never stored. When
//     MatchRecoveryCode finds one, delete (or mark used) that hash in the
//     same transaction as the login: that is what makes a recovery code
//     single use.
//
// # Routing an input
//
// The login step accepts either kind of code in one field. LooksLikeTOTP
// (six digits) and LooksLikeRecoveryCode (ten characters of the recovery
// alphabet once normalised) never both hold for the same input, so the
// caller can pick the check without trying both.
//
// # Errors
//
// Check returns errs.Invalid ("code must be 6 digits") for input that is not
// a TOTP code at all, and errs.Unauthorized ("invalid or already used code")
// for a wrong code and for a replayed one alike, so a stolen code does not
// tell its holder whether it was already spent. No error or String method
// of this package ever contains a secret, a code or a hash.
package totp
