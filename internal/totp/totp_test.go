package totp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rampart-platform/rampart/internal/errs"
)

// testSecret is a fixed secret, so that which codes collide across steps is
// the same on every run.
var testSecret = func() []byte { s := sha256.Sum256([]byte("rampart totp test")); return s[:SecretSize] }()

// testNow is in the middle of a step (step 56666667 starts at
// 1_700_000_010), so ±30 s lands inside the neighbouring steps, not on a
// boundary.
var testNow = time.Unix(1_700_000_025, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// independentCode computes the code for secret at t straight from pquerna,
// with the authenticator-app parameters spelled out here rather than taken
// from the package under test.
func independentCode(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(secret), at, totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantKind(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v %q", kind, msg)
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("got kind %v (%v), want %v", got, err, kind)
	}
	if msg != "" && errs.SafeMessage(err) != msg {
		t.Fatalf("got message %q, want %q", errs.SafeMessage(err), msg)
	}
}

// RFC 6238 Appendix B, SHA-1 rows. The 8-digit codes come from pquerna with
// 8 digits; the 6-digit path (the one Check uses) must give the last six.
func TestRFC6238KnownAnswers(t *testing.T) {
	secret := []byte("12345678901234567890")
	b32secret := base32.StdEncoding.EncodeToString(secret)
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
	}
	for _, vec := range vectors {
		t.Run(fmt.Sprint(vec.unix), func(t *testing.T) {
			at := time.Unix(vec.unix, 0)
			eight, err := totp.GenerateCodeCustom(b32secret, at, totp.ValidateOpts{
				Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
			})
			if err != nil {
				t.Fatal(err)
			}
			if eight != vec.code {
				t.Fatalf("8-digit code = %s, want %s", eight, vec.code)
			}
			six, err := totp.GenerateCodeCustom(b32secret, at, otpOpts())
			if err != nil {
				t.Fatal(err)
			}
			if six != vec.code[2:] {
				t.Fatalf("6-digit code = %s, want %s", six, vec.code[2:])
			}
			step, err := NewValidator(fixedClock(at)).Check(secret, vec.code[2:], NoStepUsed)
			if err != nil {
				t.Fatalf("Check(last six digits of the RFC code) = %v", err)
			}
			if want := vec.unix / 30; step != want {
				t.Fatalf("step = %d, want %d", step, want)
			}
		})
	}
}

func TestCheckAcceptsOneStepEitherSideAndNoMore(t *testing.T) {
	v := NewValidator(fixedClock(testNow))
	current := testNow.Unix() / 30
	cases := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"the current step's code is accepted", 0, true},
		{"the previous step's code is accepted", -30 * time.Second, true},
		{"the next step's code is accepted", 30 * time.Second, true},
		{"a code two steps old is rejected", -60 * time.Second, false},
		{"a code two steps ahead is rejected", 60 * time.Second, false},
		{"a code three steps old is rejected", -90 * time.Second, false},
		{"a code three steps ahead is rejected", 90 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code := independentCode(t, testSecret, testNow.Add(tc.offset))
			step, err := v.Check(testSecret, code, NoStepUsed)
			if !tc.ok {
				wantKind(t, err, errs.Unauthorized, "invalid or already used code")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := current + int64(tc.offset/Period); step != want {
				t.Fatalf("step = %d, want %d", step, want)
			}
		})
	}
}

func TestCheckRejectsReplay(t *testing.T) {
	v := NewValidator(fixedClock(testNow))

	t.Run("the same code is rejected once its step is stored", func(t *testing.T) {
		code := independentCode(t, testSecret, testNow)
		step, err := v.Check(testSecret, code, NoStepUsed)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Check(testSecret, code, step)
		wantKind(t, err, errs.Unauthorized, "invalid or already used code")
	})

	t.Run("an older step's code is rejected after a newer one was used", func(t *testing.T) {
		newer := independentCode(t, testSecret, testNow.Add(30*time.Second))
		step, err := v.Check(testSecret, newer, NoStepUsed)
		if err != nil {
			t.Fatal(err)
		}
		older := independentCode(t, testSecret, testNow)
		_, err = v.Check(testSecret, older, step)
		wantKind(t, err, errs.Unauthorized, "invalid or already used code")
	})

	t.Run("a newer step's code is accepted after an older one was used", func(t *testing.T) {
		older := independentCode(t, testSecret, testNow.Add(-30*time.Second))
		step, err := v.Check(testSecret, older, NoStepUsed)
		if err != nil {
			t.Fatal(err)
		}
		code := independentCode(t, testSecret, testNow)
		got, err := v.Check(testSecret, code, step)
		if err != nil {
			t.Fatal(err)
		}
		if got != step+1 {
			t.Fatalf("step = %d, want %d", got, step+1)
		}
	})

	t.Run("a wrong code and a replayed code fail alike", func(t *testing.T) {
		code := independentCode(t, testSecret, testNow)
		_, replayErr := v.Check(testSecret, code, testNow.Unix()/30)
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
		_, wrongErr := v.Check(testSecret, wrong, NoStepUsed)
		if replayErr == nil || wrongErr == nil || replayErr.Error() != wrongErr.Error() {
			t.Fatalf("replay error %v, wrong-code error %v: want the same error", replayErr, wrongErr)
		}
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckInputShape(t *testing.T) {
	v := NewValidator(fixedClock(testNow))
	code := independentCode(t, testSecret, testNow)
	t.Run("spaces as authenticator apps display them are ignored", func(t *testing.T) {
		for _, in := range []string{code[:3] + " " + code[3:], " " + code + "\n", "\t" + code} {
			if _, err := v.Check(testSecret, in, NoStepUsed); err != nil {
				t.Errorf("Check(%q) = %v", in, err)
			}
		}
	})
	t.Run("anything that is not six digits is invalid", func(t *testing.T) {
		for _, in := range []string{"", "12345", "1234567", "12345a", "abcdef", "123-456", "١٢٣٤٥٦", "12345\x00", code + "0", strings.Repeat(" ", 40) + code} {
			_, err := v.Check(testSecret, in, NoStepUsed)
			wantKind(t, err, errs.Invalid, "code must be 6 digits")
			if LooksLikeTOTP(in) {
				t.Errorf("LooksLikeTOTP(%q) = true", in)
			}
		}
	})
	t.Run("errors never contain the code", func(t *testing.T) {
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
		_, err := v.Check(testSecret, wrong, NoStepUsed)
		if err == nil || strings.Contains(err.Error(), wrong) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestCheckRefusesCallerFaults(t *testing.T) {
	code := independentCode(t, testSecret, testNow)
	t.Run("a secret shorter than 16 bytes is an internal error", func(t *testing.T) {
		_, err := NewValidator(fixedClock(testNow)).Check(testSecret[:15], code, NoStepUsed)
		wantKind(t, err, errs.Other, "")
	})
	t.Run("a clock before 1970 is an internal error", func(t *testing.T) {
		_, err := NewValidator(fixedClock(time.Unix(-1, 0))).Check(testSecret, code, NoStepUsed)
		wantKind(t, err, errs.Other, "")
	})
	t.Run("a nil clock means the real one", func(t *testing.T) {
		now := time.Now()
		if _, err := NewValidator(nil).Check(testSecret, independentCode(t, testSecret, now), NoStepUsed); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("step zero is usable at the epoch", func(t *testing.T) {
		step, err := NewValidator(fixedClock(time.Unix(0, 0))).Check(testSecret, independentCode(t, testSecret, time.Unix(0, 0)), NoStepUsed)
		if err != nil || step != 0 {
			t.Fatalf("step %d, err %v", step, err)
		}
	})
}

func TestEnroll(t *testing.T) {
	e, err := Enroll("Acme Corp", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != SecretSize {
		t.Fatalf("secret has %d bytes, want %d", len(e.Secret), SecretSize)
	}

	t.Run("the URI carries every parameter and parses back", func(t *testing.T) {
		for _, part := range []string{"otpauth://totp/", "Acme%20Corp", "alice@example.com", "secret=", "issuer=Acme%20Corp", "algorithm=SHA1", "digits=6", "period=30"} {
			if !strings.Contains(e.URI, part) {
				t.Errorf("URI %q lacks %q", e.URI, part)
			}
		}
		key, err := otp.NewKeyFromURL(e.URI)
		if err != nil {
			t.Fatal(err)
		}
		if key.Type() != "totp" || key.Issuer() != "Acme Corp" || key.AccountName() != "alice@example.com" {
			t.Errorf("type %q issuer %q account %q", key.Type(), key.Issuer(), key.AccountName())
		}
		if key.Algorithm() != otp.AlgorithmSHA1 || key.Digits() != otp.DigitsSix || key.Period() != 30 {
			t.Errorf("algorithm %v digits %v period %v", key.Algorithm(), key.Digits(), key.Period())
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
		if err != nil || !bytes.Equal(raw, e.Secret) {
			t.Errorf("URI secret decodes to %x (%v), want the enrolment's secret", raw, err)
		}
	})

	t.Run("a code from the URI's secret checks against the stored secret", func(t *testing.T) {
		key, _ := otp.NewKeyFromURL(e.URI)
		code, err := totp.GenerateCode(key.Secret(), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewValidator(fixedClock(testNow)).Check(e.Secret, code, NoStepUsed); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the QR code is a 256x256 PNG holding the URI", func(t *testing.T) {
		if ct := http.DetectContentType(e.QRPNG); ct != "image/png" {
			t.Fatalf("content type %q", ct)
		}
		img, err := png.Decode(bytes.NewReader(e.QRPNG))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != QRSize || b.Dy() != QRSize {
			t.Fatalf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), QRSize, QRSize)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.GetText() != e.URI {
			t.Fatalf("QR holds %q, want the URI", res.GetText())
		}
	})

	t.Run("every enrolment gets a new secret", func(t *testing.T) {
		other, err := Enroll("Acme Corp", "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other.Secret, e.Secret) {
			t.Fatal("two enrolments share a secret")
		}
	})
}

func TestEnrollRefusesBadLabels(t *testing.T) {
	cases := []struct{ name, issuer, account, msg string }{
		{"an empty issuer", "", "alice@example.com", "issuer"},
		{"an issuer with a colon", "Acme:Corp", "alice@example.com", "issuer"},
		{"an issuer with a newline", "Acme\nCorp", "alice@example.com", "issuer"},
		{"an issuer longer than 128 bytes", strings.Repeat("a", 129), "alice@example.com", "issuer"},
		{"an issuer that is not UTF-8", "Acme\xff", "alice@example.com", "issuer"},
		{"an empty account", "Acme", "", "account name"},
		{"an account with a colon", "Acme", "alice:x@example.com", "account name"},
		{"an account longer than 254 bytes", "Acme", strings.Repeat("a", 255), "account name"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := Enroll(tc.issuer, tc.account)
			wantKind(t, err, errs.Invalid, "")
			if !strings.HasPrefix(errs.SafeMessage(err), tc.msg+" must be") {
				t.Fatalf("message %q does not name %s", errs.SafeMessage(err), tc.msg)
			}
		})
	}
	if _, err := Enroll("Ünïcode Ltd", "ålice@example.com"); err != nil {
		t.Fatalf("non-ASCII labels: %v", err)
	}
}

func TestEnrollmentNeverShowsItsSecret(t *testing.T) {
	e, err := Enroll("Rampart", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b32secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(e.Secret)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("enrol", "enrollment", e)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("enrol", "enrollment", e)
	outputs := map[string]string{
		"%v":  fmt.Sprintf("%v", e),
		"%+v": fmt.Sprintf("%+v", e),
		"%#v": fmt.Sprintf("%#v", e),
		"%q":  fmt.Sprintf("%q", e),
		"%x":  fmt.Sprintf("%x", e),
		"&%v": fmt.Sprintf("%v", &e),
		"log": logs.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, b32secret) || strings.Contains(out, "secret=") || strings.Contains(out, "otpauth") ||
			strings.Contains(out, fmt.Sprintf("%x", e.Secret)) || strings.Contains(out, fmt.Sprint(e.Secret)) {
			t.Errorf("%s shows the secret: %s", verb, out)
		}
	}
	if !strings.Contains(outputs["%v"], "[REDACTED]") {
		t.Errorf("%%v = %s, want a redaction marker", outputs["%v"])
	}
	if b, err := json.Marshal(e); err == nil {
		t.Errorf("json.Marshal succeeded: %s", b)
	}
	if b, err := json.Marshal(struct{ E Enrollment }{e}); err == nil {
		t.Errorf("json.Marshal of an enclosing struct succeeded: %s", b)
	}
}

func TestLooksLikeRoutesEachInputToOneCheck(t *testing.T) {
	cases := []struct {
		in             string
		totp, recovery bool
	}{
		{"123456", true, false},
		{"123 456", true, false},
		{"ABCDE-FGHJK", false, true},
		{"abcde fghjk", false, true},
		{"12345-67890", false, true},
		{"1234567890", false, true},
		{"oooo0-iiil1", false, true},
		{"UUUUU-UUUUU", false, false},
		{"12345", false, false},
		{"", false, false},
		{"ABCDE-FGHJK-MNPQR", false, false},
	}
	for _, tc := range cases {
		if got := LooksLikeTOTP(tc.in); got != tc.totp {
			t.Errorf("LooksLikeTOTP(%q) = %v, want %v", tc.in, got, tc.totp)
		}
		if got := LooksLikeRecoveryCode(tc.in); got != tc.recovery {
			t.Errorf("LooksLikeRecoveryCode(%q) = %v, want %v", tc.in, got, tc.recovery)
		}
	}
}

// FuzzCheck: no input panics, every error is Invalid or Unauthorized (the
// secret and clock are sound), success only for six digits in the window
// and after the last used step, and the two LooksLike never both hold.
func FuzzCheck(f *testing.F) {
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(base32.StdEncoding.EncodeToString(testSecret), at)
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	current := testNow.Unix() / 30
	f.Add(code(testNow), NoStepUsed)
	f.Add(code(testNow), current)
	f.Add(code(testNow.Add(30*time.Second)), current)
	f.Add("123 456", int64(0))
	f.Add("", int64(-1<<63))
	f.Add("\xff\xfe", int64(1<<62))
	f.Add("12345-67890", int64(0))
	v := NewValidator(fixedClock(testNow))
	f.Fuzz(func(t *testing.T, code string, last int64) {
		step, err := v.Check(testSecret, code, last)
		if LooksLikeTOTP(code) && LooksLikeRecoveryCode(code) {
			t.Fatalf("%q looks like both kinds of code", code)
		}
		if err != nil {
			switch k := errs.KindOf(err); {
			case k == errs.Invalid && !LooksLikeTOTP(code):
			case k == errs.Unauthorized && LooksLikeTOTP(code):
			default:
				t.Fatalf("Check(%q) = %v (kind %v)", code, err, k)
			}
			return
		}
		if !LooksLikeTOTP(code) || step <= last || step < current-Skew || step > current+Skew {
			t.Fatalf("Check(%q, %d) accepted step %d", code, last, step)
		}
	})
}

func TestCheckErrorsMatchKindTemplates(t *testing.T) {
	_, err := NewValidator(fixedClock(testNow)).Check(testSecret, "x", NoStepUsed)
	if !errors.Is(err, &errs.Error{Kind: errs.Invalid}) {
		t.Fatalf("errors.Is(%v, Invalid) = false", err)
	}
}
