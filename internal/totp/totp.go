package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rampart-platform/rampart/internal/errs"
)

// The TOTP parameters. They are fixed, not configurable, because they are
// the only ones every authenticator app honours: Google's key URI format
// documents that Google Authenticator ignores the algorithm and period
// parameters (and digits on some platforms) and computes SHA-1, 6 digits,
// 30 seconds whatever the URI says; Microsoft Authenticator is known to
// handle only these values for third-party accounts. Other values would
// enrol without error and then produce codes that never match.
//
// SHA-1 is safe here: TOTP uses it inside HMAC (RFC 4226/6238), whose
// security rests on SHA-1's pseudo-randomness as a keyed function, not on
// its collision resistance, which is what the known attacks break. No
// practical attack on HMAC-SHA-1 exists, and RFC 6238 names it the default.
const (
	SecretSize = 20               // bytes of secret: 160 bits, the length RFC 4226 recommends (128 is its minimum)
	Digits     = 6                // digits per code
	Period     = 30 * time.Second // lifetime of one time step
	Skew       = 1                // steps accepted on either side of the current one, for clock drift and typing time
	QRSize     = 256              // width and height in pixels of Enrollment.QRPNG
)

// NoStepUsed is the last used step to pass to Check before any code has
// been accepted for a secret (e.g. when confirming an enrolment). Every real
// step is >= 0, so any matching code is after it.
const NoStepUsed int64 = -1

const (
	periodSeconds = int64(Period / time.Second)
	// minSecretSize refuses secrets shorter than RFC 4226's 128-bit minimum:
	// a stored secret that short is corrupt, not a weaker valid one.
	minSecretSize = 16
	// maxUnix bounds the clock (about the year 36812) so step arithmetic
	// cannot overflow and the float division inside pquerna stays exact.
	maxUnix = int64(1) << 40
	// maxCodeInput bounds the bytes of a submitted code we look at at all.
	maxCodeInput   = 32
	maxIssuerLen   = 128
	maxAccountLen  = 254 // the longest email address
	invalidCodeMsg = "invalid or already used code"
)

// otpOpts are the parameters above in pquerna's terms. A function, not a
// package variable, so nothing can change them at run time.
func otpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{
		Period:    uint(periodSeconds),
		Skew:      Skew,
		Digits:    otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1,
	}
}

// Enrollment is a freshly generated TOTP secret with the two ways of giving
// it to an authenticator app. Its String, GoString, LogValue and MarshalJSON
// methods never reveal the secret, which URI and QRPNG also contain.
type Enrollment struct {
	Secret []byte // raw secret; store it encrypted (see the package doc)
	URI    string // otpauth://totp/... key URI; contains the secret
	QRPNG  []byte // PNG image, QRSize x QRSize, of a QR code holding URI
}

// String describes e without its secret, so printing or logging an
// Enrollment by mistake leaks nothing.
func (e Enrollment) String() string {
	return fmt.Sprintf("totp.Enrollment{Secret: [REDACTED], URI: [REDACTED], QRPNG: %d bytes}", len(e.QRPNG))
}

// GoString redacts like String, for the %#v verb, which ignores String.
func (e Enrollment) GoString() string { return e.String() }

// LogValue redacts like String, for slog handlers that would otherwise
// walk the struct's fields.
func (e Enrollment) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalJSON refuses to encode an Enrollment: a response must copy URI and
// QRPNG on purpose, never serialise the secret by accident.
func (e Enrollment) MarshalJSON() ([]byte, error) {
	return nil, errors.New("totp.Enrollment must not be encoded as JSON; copy URI and QRPNG explicitly")
}

var (
	_ fmt.Stringer   = Enrollment{}
	_ fmt.GoStringer = Enrollment{}
	_ slog.LogValuer = Enrollment{}
)

// Enroll generates a new random secret for accountName at issuer and
// returns it with its otpauth:// URI and QR code. It returns errs.Invalid
// when issuer or accountName is empty, too long, or contains a colon or a
// control character (the key URI format reserves the colon as the separator
// of its "issuer:account" label).
func Enroll(issuer, accountName string) (Enrollment, error) {
	const op = "totp.Enroll"
	if !validLabelPart(issuer, maxIssuerLen) {
		return Enrollment{}, errs.E(op, errs.Invalid,
			fmt.Sprintf("issuer must be 1 to %d bytes of UTF-8 without colons or control characters", maxIssuerLen))
	}
	if !validLabelPart(accountName, maxAccountLen) {
		return Enrollment{}, errs.E(op, errs.Invalid,
			fmt.Sprintf("account name must be 1 to %d bytes of UTF-8 without colons or control characters", maxAccountLen))
	}
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return Enrollment{}, errs.E(op, err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      uint(periodSeconds),
		SecretSize:  SecretSize,
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, errs.E(op, err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return Enrollment{}, errs.E(op, err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, errs.E(op, err)
	}
	return Enrollment{Secret: secret, URI: key.String(), QRPNG: buf.Bytes()}, nil
}

func validLabelPart(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || !utf8.ValidString(s) || strings.Contains(s, ":") {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// Validator checks TOTP codes against an injected clock, so that tests and
// callers decide exactly which time step is current. It holds no state and
// is safe for concurrent use.
type Validator struct {
	now func() time.Time
}

// NewValidator returns a Validator reading the time from now; nil means
// time.Now.
func NewValidator(now func() time.Time) *Validator {
	if now == nil {
		now = time.Now
	}
	return &Validator{now: now}
}

// Check verifies code against secret at the current time, accepting the
// codes of the current step and of Skew steps on either side, and rejecting
// a code whose step is not after lastUsedStep (pass NoStepUsed if none was
// used yet). On success it returns the matched step, which the caller must
// store as the new last used step (see the package doc). Errors:
// errs.Invalid if code is not six digits (spaces are ignored, as apps show
// "123 456"); errs.Unauthorized, the same for a wrong and a replayed code;
// errs.Other if the secret is shorter than 16 bytes or the clock is before
// 1970, which are faults of the caller, not of the user.
func (v *Validator) Check(secret []byte, code string, lastUsedStep int64) (step int64, err error) {
	const op = "totp.Check"
	c, ok := normalizeTOTP(code)
	if !ok {
		return 0, errs.E(op, errs.Invalid, "code must be 6 digits")
	}
	if len(secret) < minSecretSize {
		return 0, errs.E(op, fmt.Errorf("stored secret has %d bytes, want at least %d", len(secret), minSecretSize))
	}
	now := v.now().Unix()
	if now < 0 || now > maxUnix {
		return 0, errs.E(op, fmt.Errorf("clock reads %d, outside 0..%d seconds since 1970", now, maxUnix))
	}
	current := now / periodSeconds
	// Unpadded base32 is how otpauth URIs, and so pquerna, carry secrets.
	encoded := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	// Compute and compare every step of the window, without stopping at a
	// match: the time taken must not tell which step (if any) matched.
	// Ascending order makes the latest matching step win in the (one in a
	// million) case of two steps sharing a code, which keeps replay
	// protection monotonic.
	matched, found := int64(0), 0
	for s := current - Skew; s <= current+Skew; s++ {
		if s < 0 {
			continue
		}
		want, err := totp.GenerateCodeCustom(encoded, time.Unix(s*periodSeconds, 0), otpOpts())
		if err != nil {
			return 0, errs.E(op, err)
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(c))
		if eq == 1 {
			matched = s
		}
		found |= eq
	}
	if found != 1 || matched <= lastUsedStep {
		return 0, errs.E(op, errs.Unauthorized, invalidCodeMsg)
	}
	return matched, nil
}

// LooksLikeTOTP reports whether code has the shape of a TOTP code: six
// ASCII digits, ignoring whitespace. It never holds together with
// LooksLikeRecoveryCode, so a login form can route one field to the right
// check.
func LooksLikeTOTP(code string) bool {
	_, ok := normalizeTOTP(code)
	return ok
}

// normalizeTOTP drops whitespace (authenticator apps display "123 456") and
// returns the six digits, or false if code is anything else.
func normalizeTOTP(code string) (string, bool) {
	if len(code) > maxCodeInput {
		return "", false
	}
	var b [Digits]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case isSpace(c):
			continue
		case c < '0' || c > '9' || n == Digits:
			return "", false
		}
		b[n] = c
		n++
	}
	if n != Digits {
		return "", false
	}
	return string(b[:]), true
}

// isSpace is the whitespace both code formats ignore. Keeping one set for
// both is what makes LooksLikeTOTP and LooksLikeRecoveryCode exclusive.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}
