package logx

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
)

// Redacted is the placeholder written in place of a secret.
const Redacted = "[REDACTED]"

// ---- Secret keys ------------------------------------------------------------

// A key is read as lower-case parts: split on anything that is not a letter or
// digit and on camelCase humps, so "newPassword", "X-Api-Key", "APIKey" and
// "db.password" become new|password, x|api|key, api|key and db|password.

// secretSubstrings make a key secret wherever they occur in its letters and
// digits run together ("x_api_key" -> "xapikey"). Only words with no innocent
// reading belong here; they win over every exemption below, so
// "password_changed_at" and "session_count" are redacted too: name such
// fields without the word.
var secretSubstrings = byFirstByte(
	"password", "passwd", "passphrase", "secret", "credential", "cookie",
	"authorization", "csrf", "xsrf", "apikey", "privatekey", "bearer",
	"session", "signature", "mnemonic", "databaseurl", "dburl",
	"connectionstring", "connstr",
)

// secretWords are secret as a whole part, unless the next part says the value
// only describes the secret (otp_enabled, jwt_kid). They are too short to
// match inside other words: "otp" is in "hotpath".
var secretWords = setOf(
	"pwd", "pw", "pass", "otp", "totp", "hotp", "creds", "dsn", "sig", "jwt",
	"sid", "psk", "pin", "rootkey", "masterkey", "signingkey",
	"encryptionkey", "privkey",
)

// secretNouns are secret when they name the thing itself. Each maps to the
// qualifiers that, as the part before it, say the thing is public: a
// public_key or an error_code are not secrets, an api_key, root_key, id_token,
// recovery_code or a bare "code" are. Unknown qualifiers keep the secret
// reading, so new names fail closed. As with secretWords, a metadata part
// after the noun (key_id, token_type, code_length) makes it not secret.
var secretNouns = map[string]map[string]bool{
	"key":    publicKeyQualifiers,
	"keys":   publicKeyQualifiers,
	"kek":    nil,
	"dek":    nil,
	"token":  publicTokenQualifiers,
	"tokens": publicTokenQualifiers,
	"code":   publicCodeQualifiers,
	"codes":  publicCodeQualifiers,
}

var (
	publicKeyQualifiers = setOf("public", "pub", "cache", "sort", "partition",
		"primary", "foreign", "idempotency", "object", "lookup", "routing", "map", "dedup")
	publicTokenQualifiers = setOf("page", "next", "continuation", "sync")
	publicCodeQualifiers  = setOf("error", "err", "status", "http", "grpc", "exit",
		"return", "result", "response", "reason", "country", "language", "lang",
		"locale", "currency", "postal", "zip", "area", "region", "iso", "event", "sql")
)

// metadataParts, right after a secret word or noun, mean the value is about
// the secret, not the secret: key_id, token_type, otp_enabled, token_url.
// session_id stays secret all the same: "session" is a substring word, and
// those ignore metadata.
var metadataParts = setOf(
	"id", "ids", "kid", "type", "kind", "version", "count", "len", "length",
	"size", "ttl", "exp", "expiry", "expires", "expiration", "alg",
	"algorithm", "prefix", "hint", "name", "format", "status", "scope",
	"purpose", "fingerprint", "url", "uri", "endpoint", "file", "path",
	"provider", "rotation", "rotated", "revoked", "created", "issued", "used",
	"enabled", "required",
)

// secretParts merges secretWords and secretNouns so that an ordinary part
// costs one map lookup.
var secretParts = func() map[string]partRule {
	m := make(map[string]partRule, len(secretWords)+len(secretNouns))
	for w := range secretWords {
		m[w] = partRule{secrecy: secretWord}
	}
	for n, public := range secretNouns {
		m[n] = partRule{secrecy: secretNoun, public: public}
	}
	return m
}()

type partRule struct {
	secrecy secrecy
	public  map[string]bool // qualifiers that, as the part before, make it public
}

// IsSecretKey reports whether an attribute or field name looks like it holds a secret.
func IsSecretKey(key string) bool { return classifyKey("", key) != notSecret }

type secrecy uint8

const (
	notSecret  secrecy = iota
	secretNoun         // names a secret only by a noun: a group so named is searched, not hidden
	secretWord         // names a secret outright: a group so named is hidden whole
)

// classifyKey classifies key read after context: the enclosing group's name in
// a record, or the word before the key in free text. Their parts are read as
// one name, so the context's last part qualifies the key's first ("error" +
// "code" is public, "db" + "password" and "api" + "key" are not). It does not allocate for keys up to 128 bytes,
// which matters because it runs for every attribute of every record.
func classifyKey(context, key string) secrecy {
	var nb, fb [128]byte
	norm, flat := appendKeyParts(nb[:0], fb[:0], context)
	norm, flat = appendKeyParts(norm, flat, key)
	for i, c := range flat {
		for _, w := range secretSubstrings[c] {
			if bytes.HasPrefix(flat[i:], w) {
				return secretWord
			}
		}
	}
	var prev []byte
	for rest := norm; len(rest) > 0; {
		part, after := cutPart(rest)
		rule, ok := secretParts[string(part)]
		if ok && rule.public[string(prev)] {
			ok = false
		} else if !ok && len(part) > 5 && bytes.HasSuffix(part, []byte("token")) {
			rule, ok = partRule{secrecy: secretNoun}, true // accesstoken, authtoken: run-together names
		}
		if next, _ := cutPart(after); ok && !metadataParts[string(next)] {
			return rule.secrecy
		}
		prev, rest = part, after
	}
	return notSecret
}

// appendKeyParts appends s to norm as lower-case parts each ended by '_', and
// to flat as its lower-case letters and digits.
func appendKeyParts(norm, flat []byte, s string) ([]byte, []byte) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUpper(c):
			// A hump starts a part: "newPassword", and the last capital
			// of an acronym before a lower-case letter: "APIKey".
			if i > 0 && (isLower(s[i-1]) || isDigit(s[i-1]) ||
				isUpper(s[i-1]) && i+1 < len(s) && isLower(s[i+1])) {
				norm = endPart(norm)
			}
			c += 'a' - 'A'
		case isLower(c) || isDigit(c) || c >= 0x80:
		default:
			norm = endPart(norm)
			continue
		}
		norm, flat = append(norm, c), append(flat, c)
	}
	return endPart(norm), flat
}

func endPart(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '_' {
		b = append(b, '_')
	}
	return b
}

func cutPart(b []byte) (part, rest []byte) {
	i := bytes.IndexByte(b, '_')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

// ---- Secrets in free text ---------------------------------------------------

// RedactString replaces secret-looking substrings of free text with Redacted and returns the result.
//
// It finds Bearer and Basic credentials, JWTs, PEM private keys, age
// identities, Rampart tokens, passwords in URLs and DSNs, and the values of
// secret keys (see IsSecretKey) written as key=value, key: value, JSON,
// query parameters or Go's %+v. Use it on error strings and any other text
// built from request data before it is printed.
//
// It returns s itself, without allocating, when nothing is found. The result
// is a fixed point: RedactString(RedactString(s)) == RedactString(s).
func RedactString(s string) string {
	// One pass decides each rule on the original text; a replacement can
	// change what a later rule sees (the word before a key, say), so passes
	// repeat until nothing changes. Clean text costs one pass, text with a
	// secret two. Only contrived input keeps changing; it is dropped whole.
	for range 4 {
		r := redactOnce(s)
		if r == s {
			return s
		}
		s = r
	}
	return Redacted
}

const (
	maxKeyLen  = 64  // longest key looked for before a '=' or ':'
	maxWordLen = 32  // longest word read as the key's qualifier
	maxDSNUser = 256 // longest user:password looked for before "@tcp("
)

type span struct{ start, end int }

// scanner finds the secrets in s. Every rule runs at every byte, and each
// records where its last match (or failed run) ended and skips positions
// before it, so that input made of repeated prefixes ("rpt_rpt_rpt_...")
// stays linear. Matches of different rules may overlap; they are merged.
type scanner struct {
	s                                          string
	spans                                      []span
	authEnd, jwtEnd, tokenEnd, pemEnd, pairEnd int
}

func redactOnce(s string) string {
	sc := scanner{s: s}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'b', 'B':
			sc.authScheme(i)
		case 'e':
			sc.jwt(i)
		case 'r', 'R':
			sc.rampartToken(i)
		case 'a', 'A':
			sc.ageKey(i)
		case '-':
			sc.pemBlock(i)
		case '@':
			sc.dsnUserinfo(i)
		case ':':
			if strings.HasPrefix(s[i:], "://") {
				sc.urlUserinfo(i)
			} else {
				sc.pair(i)
			}
		case '=':
			sc.pair(i)
		}
	}
	if len(sc.spans) == 0 {
		return s
	}
	return sc.replace()
}

// add records s[start:end] as secret unless it is empty or already redacted.
func (sc *scanner) add(start, end int) {
	if end > start && sc.s[start:end] != Redacted {
		sc.spans = append(sc.spans, span{start, end})
	}
}

// replace writes s with every span replaced by Redacted.
func (sc *scanner) replace() string {
	slices.SortFunc(sc.spans, func(a, b span) int { return a.start - b.start })
	var out strings.Builder
	out.Grow(len(sc.s))
	last := 0
	for i := 0; i < len(sc.spans); {
		start, end := sc.spans[i].start, sc.spans[i].end
		for i++; i < len(sc.spans) && sc.spans[i].start <= end; i++ {
			end = max(end, sc.spans[i].end)
		}
		out.WriteString(sc.s[last:start])
		out.WriteString(Redacted)
		last = end
	}
	out.WriteString(sc.s[last:])
	return out.String()
}

// authScheme: "Bearer <anything>" and "Basic <base64>" as in an
// Authorization header. "basic" is also an English word, so its credential
// must look encoded: it decodes to "user:pass" or holds a non-letter.
func (sc *scanner) authScheme(i int) {
	s := sc.s
	if i < sc.authEnd || i > 0 && isLetter(s[i-1]) {
		return
	}
	var n int
	switch {
	case hasPrefixFold(s[i:], "bearer"):
		n = len("bearer")
	case hasPrefixFold(s[i:], "basic"):
		n = len("basic")
	default:
		return
	}
	start := skipBlanks(s, i+n)
	if start == i+n {
		return
	}
	end := runEnd(s, start)
	sc.authEnd = end
	if n == len("basic") && !looksEncoded(s[start:end]) {
		return
	}
	sc.add(start, end)
}

// jwt: three or more base64url segments, the first a JSON object ("eyJ" is
// base64 for `{"`). Signed, unsigned ("a.b.") and encrypted (five segments)
// tokens all match.
func (sc *scanner) jwt(i int) {
	s := sc.s
	if i < sc.jwtEnd || !strings.HasPrefix(s[i:], "eyJ") {
		return
	}
	end, dots := i, 0
	for ; end < len(s) && (isBase64URL(s[end]) || s[end] == '.'); end++ {
		if s[end] == '.' {
			dots++
		}
	}
	sc.jwtEnd = end
	if dots < 2 {
		return
	}
	for s[end-1] == '.' { // a full stop ending a sentence is not part of it
		end--
	}
	sc.add(i, end)
}

// rampartToken: Rampart's own secrets, rpt_ (personal API token), rps_
// (session), rpr_ (password reset), rpi_ (invite) and rpb_ (bootstrap),
// each followed by a
// base64url body of 16 or more characters. The whole token goes, prefix too.
func (sc *scanner) rampartToken(i int) {
	s := sc.s
	if i < sc.tokenEnd || len(s)-i < 4+16 || lower(s[i+1]) != 'p' ||
		!strings.ContainsRune("tsrib", rune(lower(s[i+2]))) || s[i+3] != '_' {
		return
	}
	end := base64URLEnd(s, i+4)
	if end-(i+4) >= 16 {
		sc.tokenEnd = end
		sc.add(i, end)
	}
}

// ageKey: an age X25519 identity, AGE-SECRET-KEY-1 and its Bech32 body.
func (sc *scanner) ageKey(i int) {
	const prefix = "age-secret-key-1"
	s := sc.s
	if i < sc.tokenEnd || !hasPrefixFold(s[i:], prefix) {
		return
	}
	// The body is read as base64url, a superset of Bech32, so a token
	// glued to its end cannot survive as the tail of a shorter match.
	end := base64URLEnd(s, i+len(prefix))
	if end > i+len(prefix) {
		sc.tokenEnd = end
		sc.add(i, end)
	}
}

// pemBlock: a PEM block whose label names a private key, from BEGIN through
// its END line, or through the end of the text if the END line is missing
// (a truncated key is still a key).
func (sc *scanner) pemBlock(i int) {
	const begin, dashes = "-----BEGIN ", "-----"
	s := sc.s
	if i < sc.pemEnd || !strings.HasPrefix(s[i:], begin) {
		return
	}
	label := s[i+len(begin) : min(len(s), i+len(begin)+64)]
	if j := strings.Index(label, dashes); j >= 0 {
		label = label[:j]
	}
	if !strings.Contains(label, "PRIVATE KEY") {
		return
	}
	end := len(s)
	if j := strings.Index(s[i+len(begin):], "-----END "); j >= 0 {
		j += i + len(begin) + len("-----END ")
		if k := strings.Index(s[j:], dashes); k >= 0 {
			end = j + k + len(dashes)
		}
	}
	sc.pemEnd = end
	sc.add(i, end)
}

// urlUserinfo: the password in scheme://user:password@host. A userinfo with
// no password is kept unless it is long enough to be a token used as a user
// name (https://<token>@github.com).
func (sc *scanner) urlUserinfo(i int) {
	s := sc.s
	start := i + len("://")
	end := start
	for end < len(s) && !strings.ContainsRune("/?#\"'<>\\", rune(s[end])) && !isSpace(s[end]) {
		end++
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return
	}
	at += start
	if colon := strings.IndexByte(s[start:at], ':'); colon >= 0 {
		sc.add(start+colon+1, at)
	} else if at-start >= 20 {
		sc.add(start, at)
	}
}

// dsnUserinfo: the password in a Go MySQL DSN, user:password@tcp(host)/db,
// which has no "://" to find it by.
func (sc *scanner) dsnUserinfo(i int) {
	s := sc.s
	if !strings.HasPrefix(s[i:], "@tcp(") && !strings.HasPrefix(s[i:], "@tcp6(") &&
		!strings.HasPrefix(s[i:], "@unix(") {
		return
	}
	start := i
	for start > 0 && i-start < maxDSNUser && !isSpace(s[start-1]) && !isQuote(s[start-1]) {
		start--
	}
	if colon := strings.IndexByte(s[start:i], ':'); colon >= 0 {
		sc.add(start+colon+1, i)
	}
}

// pair: a value after a secret key, at the '=' or ':' at i. It covers query
// strings (?code=..&token=..), logfmt, key=value DSNs, CLI flags, JSON and
// Python dicts (quoted keys and values, also JSON escaped inside a string),
// Go's %+v of structs and maps, and header or YAML lines ("Key: value", whose
// value runs to the end of the line).
func (sc *scanner) pair(i int) {
	s := sc.s
	if i < sc.pairEnd {
		return // inside the value of the previous pair, which is already gone
	}
	key, keyStart, quoted := keyBefore(s, i)
	if key == "" {
		return
	}
	toEOL := s[i] == ':' && !quoted && i+1 < len(s) && isBlank(s[i+1])
	if toEOL && isQualifiedIdent(key) {
		return // "session.Create: not found" is an error's operation, not a field
	}
	context := ""
	if !quoted {
		context = wordBefore(s, keyStart)
	}
	if classifyKey(context, key) == notSecret {
		return
	}
	start, end := valueSpan(s, skipBlanks(s, i+1), toEOL)
	sc.pairEnd = end
	sc.add(start, end)
}

// keyBefore returns the key ending just before the separator at sep, where
// it starts, and whether it was quoted.
func keyBefore(s string, sep int) (key string, start int, quoted bool) {
	j := sep
	for j > 0 && isBlank(s[j-1]) {
		j--
	}
	if j > 0 && isQuote(s[j-1]) {
		lo := max(0, j-1-maxKeyLen)
		open := strings.LastIndexByte(s[lo:j-1], s[j-1])
		if open < 0 {
			return "", 0, false
		}
		return s[lo+open+1 : j-1], lo + open, true
	}
	start = j
	for start > 0 && j-start < maxKeyLen && isKeyChar(s[start-1]) {
		start--
	}
	return s[start:j], start, false
}

// wordBefore returns the word separated from the key at keyStart by one
// space, which qualifies it in prose: "status code: 500", "api key=...".
func wordBefore(s string, keyStart int) string {
	end := keyStart - 1
	if end < 1 || s[end] != ' ' {
		return ""
	}
	start := end
	for start > 0 && end-start < maxWordLen && isLetter(s[start-1]) {
		start--
	}
	return s[start:end]
}

// valueSpan returns the value starting at v: a quoted string (also JSON
// escaped as \"...\"), a bracketed object or list, the rest of the line if
// toEOL, or else a run up to a delimiter.
func valueSpan(s string, v int, toEOL bool) (start, end int) {
	switch {
	case v >= len(s):
		return v, v
	case isQuote(s[v]):
		return v + 1, closingQuote(s, v+1, s[v])
	case strings.HasPrefix(s[v:], `\"`):
		if j := strings.Index(s[v+2:], `\"`); j >= 0 {
			return v + 2, v + 2 + j
		}
		return v + 2, len(s)
	case (s[v] == '{' || s[v] == '[') && !strings.HasPrefix(s[v:], Redacted):
		return v, closingBracket(s, v)
	case toEOL:
		end := strings.IndexAny(s[v:], "\r\n")
		if end < 0 {
			return v, len(s)
		}
		return v, v + end
	}
	return v, runEnd(s, v)
}

// runEnd returns the end of the unquoted value starting at i. A value that
// starts with Redacted is read past its ']' so that "[REDACTED]tail" loses
// its tail and "[REDACTED]" is left alone.
func runEnd(s string, i int) int {
	if strings.HasPrefix(s[i:], Redacted) {
		i += len(Redacted)
	}
	for i < len(s) && !isSpace(s[i]) && !strings.ContainsRune("&,;\"'`\\<>()]{}", rune(s[i])) {
		i++
	}
	return i
}

// closingQuote returns the index of the first q at or after i that is not
// escaped by a backslash, or len(s): an unterminated value is hidden to the end.
func closingQuote(s string, i int, q byte) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return len(s)
}

// closingBracket returns the end of the bracketed value at i, counting
// nesting and skipping quoted strings, or len(s) if it never closes.
func closingBracket(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		case '"':
			i = closingQuote(s, i+1, '"')
		}
	}
	return len(s)
}

// looksEncoded reports whether a Basic credential is plausibly base64: it
// decodes to user:password, or is long and holds a non-letter.
func looksEncoded(cred string) bool {
	if strings.HasPrefix(cred, Redacted) {
		return true
	}
	// #nosec G115 -- byte(r) runs only when r <= 0x7f (short-circuit), so it is exact.
	if len(cred) >= 8 && strings.IndexFunc(cred, func(r rune) bool { return r > 0x7f || !isLetter(byte(r)) }) >= 0 {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(cred); err == nil && bytes.IndexByte(b, ':') >= 0 {
			return true
		}
	}
	return false
}

// ---- Small helpers ----------------------------------------------------------

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// byFirstByte indexes words by their first byte, so that looking for all of
// them in a key is one pass over it.
func byFirstByte(words ...string) *[256][][]byte {
	var t [256][][]byte
	for _, w := range words {
		t[w[0]] = append(t[w[0]], []byte(w))
	}
	return &t
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring case, without allocating.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func skipBlanks(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

func base64URLEnd(s string, i int) int {
	for i < len(s) && isBase64URL(s[i]) {
		i++
	}
	return i
}

// isQualifiedIdent reports whether key reads as a Go pkg.Func or Type.Method.
func isQualifiedIdent(key string) bool {
	dot := strings.LastIndexByte(key, '.')
	return dot >= 0 && dot+1 < len(key) && isUpper(key[dot+1])
}

func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

func isUpper(c byte) bool   { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool   { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }
func isLetter(c byte) bool  { return isUpper(c) || isLower(c) }
func isBlank(c byte) bool   { return c == ' ' || c == '\t' }
func isSpace(c byte) bool   { return c == ' ' || '\t' <= c && c <= '\r' }
func isQuote(c byte) bool   { return c == '"' || c == '\'' }
func isKeyChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == '.' }

func isBase64URL(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '-' || c == '_'
}
