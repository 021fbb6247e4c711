package password

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Limits on what a stored hash may ask for. A PHC string in the database
// decides how much memory and time its verification takes, so these bounds
// are what stands between a hostile or corrupt row and a huge allocation.
// They are checked before anything is decoded or allocated.
const (
	// maxMemoryKiB is 4 GiB expressed in KiB, argon2's m unit.
	maxMemoryKiB = 4 * 1024 * 1024
	// maxTime bounds the passes over memory; OWASP's strongest profile uses 5.
	maxTime = 100
	// minSaltLen is RFC 9106's minimum salt length; we create 16-byte salts
	// but accept 8 so hashes imported from other systems still verify (and
	// get re-hashed on the next login).
	minSaltLen = 8
	maxSaltLen = 64
	// minKeyLen and maxKeyLen bound the tag length: below 16 bytes a hash is
	// guessable by collision, above 64 nothing is gained.
	minKeyLen = 16
	maxKeyLen = 64
	// maxPHCLen is longer than any string the limits above allow
	// ("$argon2id$v=19$m=4194304,t=100,p=255$" plus 86+86 base64 bytes is 210),
	// so longer input is rejected before it is split or decoded.
	maxPHCLen = 256
)

// phcPrefix is the only algorithm and version we accept; v=19 is argon2
// version 0x13, the one x/crypto implements.
const phcPrefix = "$argon2id$v=19$"

// b64 is the PHC alphabet: standard base64 without padding. Strict rejects
// non-zero trailing bits, so every hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// Causes of a parse failure. They name the faulty field and never echo the
// input: a PHC string is a secret-derived value that must not reach logs.
var (
	errPHCTooLong     = errors.New("phc: string too long")
	errPHCAlgorithm   = errors.New("phc: unsupported algorithm (want argon2id)")
	errPHCVersion     = errors.New("phc: unsupported argon2 version (want v=19)")
	errPHCFormat      = errors.New("phc: malformed string")
	errPHCParams      = errors.New("phc: malformed parameters (want m=<KiB>,t=<passes>,p=<lanes>)")
	errPHCParamsRange = errors.New("phc: parameters out of range")
	errPHCSalt        = errors.New("phc: malformed or out-of-range salt")
	errPHCKey         = errors.New("phc: malformed or out-of-range hash")
)

// phc is a parsed argon2id PHC string. params.SaltLen and params.KeyLen are
// the lengths of salt and key.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// encodePHC formats an argon2id hash. The caller guarantees that p's cost
// parameters are in range; the lengths are taken from salt and key.
func encodePHC(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(phcPrefix) + 32 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	b.WriteString(phcPrefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// parsePHC parses an argon2id PHC string strictly: one algorithm, one
// version, the three parameters in canonical order and decimal form, no
// optional fields, canonical unpadded base64, and every value within the
// limits above. So a string that parses re-encodes to itself, and the
// largest allocation it can cause is maxSaltLen+maxKeyLen bytes here and
// maxMemoryKiB in argon2 (which the Hasher bounds further).
func parsePHC(s string) (phc, error) {
	if len(s) > maxPHCLen {
		return phc{}, errPHCTooLong
	}
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		switch {
		case strings.HasPrefix(s, "$argon2id$"):
			return phc{}, errPHCVersion
		case strings.HasPrefix(s, "$"):
			return phc{}, errPHCAlgorithm
		default:
			return phc{}, errPHCFormat
		}
	}
	params, rest, ok := strings.Cut(rest, "$")
	if !ok {
		return phc{}, errPHCFormat
	}
	saltB64, keyB64, ok := strings.Cut(rest, "$")
	if !ok || strings.Contains(keyB64, "$") {
		return phc{}, errPHCFormat
	}

	var p Params
	m, params, ok := cutParam(params, "m=", ",", maxMemoryKiB)
	if !ok {
		return phc{}, errPHCParams
	}
	t, params, ok := cutParam(params, "t=", ",", maxTime)
	if !ok {
		return phc{}, errPHCParams
	}
	threads, params, ok := cutParam(params, "p=", "", 255)
	if !ok || params != "" {
		return phc{}, errPHCParams
	}
	// The bounds passed to cutParam make these conversions lossless.
	p.Memory = uint32(m)       // #nosec G115 -- m <= maxMemoryKiB, checked by cutParam
	p.Time = uint32(t)         // #nosec G115 -- t <= maxTime, checked by cutParam
	p.Threads = uint8(threads) // #nosec G115 -- threads <= 255, checked by cutParam
	// RFC 9106: memory must be at least 8 KiB per lane. x/crypto would
	// silently raise it, which would make the string lie about its cost.
	if p.Memory < 8*uint32(p.Threads) {
		return phc{}, errPHCParamsRange
	}

	salt, ok := decodeBounded(saltB64, minSaltLen, maxSaltLen)
	if !ok {
		return phc{}, errPHCSalt
	}
	key, ok := decodeBounded(keyB64, minKeyLen, maxKeyLen)
	if !ok {
		return phc{}, errPHCKey
	}
	p.SaltLen = uint32(len(salt)) // #nosec G115 -- len(salt) <= maxSaltLen, checked by decodeBounded
	p.KeyLen = uint32(len(key))   // #nosec G115 -- len(key) <= maxKeyLen, checked by decodeBounded
	return phc{params: p, salt: salt, key: key}, nil
}

// cutParam reads "<name><decimal><sep>" from the front of s and returns the
// number (1..max) and what follows. With sep "" the number runs to the end.
// Decimals must be canonical: digits only, no sign, no leading zero.
func cutParam(s, name, sep string, max uint64) (n uint64, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, name)
	if !ok {
		return 0, "", false
	}
	num := s
	if sep != "" {
		num, rest, ok = strings.Cut(s, sep)
		if !ok {
			return 0, "", false
		}
	}
	if num == "" || len(num) > 10 || num[0] == '0' {
		return 0, "", false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, "", false
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > max {
		return 0, "", false
	}
	return n, rest, true
}

// decodeBounded decodes unpadded base64 whose decoded length must lie in
// [min, max]; the length is checked on the encoded form first, so nothing is
// allocated for oversized input.
func decodeBounded(s string, min, max int) ([]byte, bool) {
	if len(s) < b64.EncodedLen(min) || len(s) > b64.EncodedLen(max) {
		return nil, false
	}
	// encoding/base64 skips '\r' and '\n' even in Strict mode; PHC allows
	// only the 64 alphabet characters.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	buf := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(buf, []byte(s))
	if err != nil || n < min || n > max {
		return nil, false
	}
	return buf[:n], true
}
