package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Recovery codes are ten characters of Crockford's base32 alphabet, shown as
// "XXXXX-XXXXX". The alphabet has no I, L, O or U, so nothing a user reads
// off paper is ambiguous, and NormalizeRecoveryCode reads the look-alikes
// back as Crockford does (O as 0, I and L as 1) and ignores case, spaces and
// hyphens. Ten characters of 32 give 50 bits per code.
//
// Codes are stored as plain SHA-256 of the normalised code, not with a slow
// password hash or an HMAC:
//   - Online guessing is what matters first, and it is hopeless: a guess
//     hits one of ten live codes with probability 10/2^50, and the login
//     lockout (IA8) allows a handful of guesses per account per window.
//   - A slow hash would cost an argon2id run per stored code on every
//     recovery login (ten of them), for a factor that is used rarely; and
//     recovery codes only replace the second factor, the argon2id password
//     must still be known.
//   - The cost, stated plainly: the hashes are unsalted, so whoever steals
//     the database can sweep all 2^50 codes once (about 16 hours of one modern
//     GPU at ~2e10 SHA-256/s) and learn every user's unused codes at once.
//     That turns a stolen database plus a cracked password into a second
//     factor bypass without the organization's keys. If that threat is in
//     scope, key the hash (HMAC-SHA-256 with a key from internal/keys); the
//     API below would keep its shape.
const (
	// RecoveryCodeCount is how many recovery codes an enrolment hands out.
	RecoveryCodeCount = 10
	// RecoveryCodeLen is the number of significant characters in a code.
	RecoveryCodeLen = 10

	recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base32
	maxRecoveryCodes = 100
	// maxRecoveryInput bounds what LooksLikeRecoveryCode reads: a real code
	// with generous spacing is far shorter.
	maxRecoveryInput = 64
)

// GenerateRecoveryCodes returns n distinct random recovery codes, formatted
// for display as "XXXXX-XXXXX", and their hashes (HashRecoveryCode) in the
// same order. Show the codes once; store only the hashes. It returns
// errs.Invalid if n is not between 1 and 100.
func GenerateRecoveryCodes(n int) (codes []string, hashes [][]byte, err error) {
	const op = "totp.GenerateRecoveryCodes"
	if n < 1 || n > maxRecoveryCodes {
		return nil, nil, errs.E(op, errs.Invalid, fmt.Sprintf("recovery code count must be between 1 and %d", maxRecoveryCodes))
	}
	codes = make([]string, 0, n)
	hashes = make([][]byte, 0, n)
	seen := make(map[string]bool, n)
	raw := make([]byte, RecoveryCodeLen)
	for len(codes) < n {
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, errs.E(op, err)
		}
		var c [RecoveryCodeLen]byte
		for i, r := range raw {
			// 256 is a multiple of 32, so masking the low five bits
			// picks every character with equal probability.
			c[i] = recoveryAlphabet[r&31]
		}
		norm := string(c[:])
		// A repeat among 50-bit codes is next to impossible, but each code
		// must be distinct for MatchRecoveryCode's index to name one code.
		if seen[norm] {
			continue
		}
		seen[norm] = true
		codes = append(codes, norm[:RecoveryCodeLen/2]+"-"+norm[RecoveryCodeLen/2:])
		hashes = append(hashes, HashRecoveryCode(norm))
	}
	clear(raw)
	return codes, hashes, nil
}

// NormalizeRecoveryCode returns s as it is hashed: whitespace and hyphens
// removed, letters upper-cased, O read as 0 and I and L as 1. Other
// characters are kept, so input that is not a code stays not a code.
func NormalizeRecoveryCode(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) || c == '-' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		b = append(b, c)
	}
	return string(b)
}

// HashRecoveryCode returns the SHA-256 of the normalised code: the value to
// store, and the value MatchRecoveryCode compares.
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return sum[:]
}

// LooksLikeRecoveryCode reports whether s, once normalised, is ten
// characters of the recovery alphabet. It never holds together with
// LooksLikeTOTP.
func LooksLikeRecoveryCode(s string) bool {
	if len(s) > maxRecoveryInput {
		return false
	}
	n := NormalizeRecoveryCode(s)
	if len(n) != RecoveryCodeLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !inRecoveryAlphabet(n[i]) {
			return false
		}
	}
	return true
}

func inRecoveryAlphabet(c byte) bool {
	switch {
	case '0' <= c && c <= '9':
		return true
	case 'A' <= c && c <= 'Z':
		return c != 'I' && c != 'L' && c != 'O' && c != 'U'
	}
	return false
}

// MatchRecoveryCode hashes code and compares it, in constant time, with
// every stored hash, returning the index of the first match. It always
// compares against all of them, so the time taken does not reveal which
// code (or whether any) matched. Input that is not a recovery code never
// matches. The caller makes the code single use by deleting hashes[index]
// in the same transaction as the login.
func MatchRecoveryCode(code string, hashes [][]byte) (index int, ok bool) {
	h := HashRecoveryCode(code)
	index, found := -1, 0
	for i, stored := range hashes {
		eq := subtle.ConstantTimeCompare(h, stored)
		// Take i only on the first match, without a branch on the result.
		index = subtle.ConstantTimeSelect(eq&^found, i, index)
		found |= eq
	}
	if found != 1 || !LooksLikeRecoveryCode(code) {
		return -1, false
	}
	return index, true
}
