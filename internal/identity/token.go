package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Token prefixes make a leaked token recognisable (secret scanners, the log
// redactor) and say what it is for.
const (
	prefixSession = "rps_"
	prefixAPI     = "rpt_"
	prefixReset   = "rpr_"
	prefixInvite  = "rpi_"
	prefixBoot    = "rpb_"
)

// newToken returns a fresh 256-bit token with its prefix, and the SHA-256
// that is stored instead of it. A plain hash suffices: the token is random
// and as long as a key, so it cannot be guessed from its hash.
func newToken(prefix string) (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

// SessionCookie is the name under which browsers carry a session token
// (the API, the console and the OAuth sign-in pages all read it). The
// __Host- prefix makes the browser refuse it unless it is Secure,
// host-only and for path "/".
const SessionCookie = "__Host-rampart_session"

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// tokenShapeOK rejects input that cannot be one of our tokens before any
// database work.
func tokenShapeOK(token, prefix string) bool {
	rest, ok := strings.CutPrefix(token, prefix)
	return ok && len(rest) == 43
}
