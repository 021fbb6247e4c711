package totp

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
)

var displayedCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	codes, hashes, err := GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes and %d hashes, want 10 of each", len(codes), len(hashes))
	}

	t.Run("codes are distinct and shown as XXXXX-XXXXX", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range codes {
			if !displayedCode.MatchString(c) {
				t.Errorf("code %q has the wrong format", c)
			}
			if seen[c] {
				t.Errorf("code %q appears twice", c)
			}
			seen[c] = true
			if !LooksLikeRecoveryCode(c) || LooksLikeTOTP(c) {
				t.Errorf("code %q is not routed as a recovery code", c)
			}
		}
	})

	t.Run("hashes are SHA-256 of the normalised code and never the code", func(t *testing.T) {
		for i, h := range hashes {
			want := sha256.Sum256([]byte(strings.ReplaceAll(codes[i], "-", "")))
			if !bytes.Equal(h, want[:]) {
				t.Errorf("hash %d is not SHA-256 of its normalised code", i)
			}
			if bytes.Contains(h, []byte(codes[i])) || bytes.Contains(h, []byte(NormalizeRecoveryCode(codes[i]))) {
				t.Errorf("hash %d contains its code", i)
			}
		}
	})

	t.Run("each code matches its own hash and no other", func(t *testing.T) {
		for i, c := range codes {
			for _, in := range []string{c, strings.ToLower(c), strings.ReplaceAll(c, "-", " "), " " + c[:3] + "-" + c[3:] + "\n"} {
				idx, ok := MatchRecoveryCode(in, hashes)
				if !ok || idx != i {
					t.Errorf("MatchRecoveryCode(%q) = %d, %v; want %d, true", in, idx, ok, i)
				}
			}
			others := append(append([][]byte{}, hashes[:i]...), hashes[i+1:]...)
			if idx, ok := MatchRecoveryCode(c, others); ok {
				t.Errorf("code %d matched hash %d of another code", i, idx)
			}
		}
	})

	t.Run("a used code whose hash was removed no longer matches", func(t *testing.T) {
		idx, ok := MatchRecoveryCode(codes[3], hashes)
		if !ok {
			t.Fatal("no match")
		}
		remaining := append(append([][]byte{}, hashes[:idx]...), hashes[idx+1:]...)
		if _, ok := MatchRecoveryCode(codes[3], remaining); ok {
			t.Fatal("the used code still matches")
		}
		if _, ok := MatchRecoveryCode(codes[4], remaining); !ok {
			t.Fatal("another code stopped matching")
		}
	})

	t.Run("two generations share no code", func(t *testing.T) {
		again, _, err := GenerateRecoveryCodes(RecoveryCodeCount)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range again {
			if _, ok := MatchRecoveryCode(c, hashes); ok {
				t.Errorf("code %q was generated twice", c)
			}
		}
	})
}

func TestGenerateRecoveryCodesRefusesBadCounts(t *testing.T) {
	for _, n := range []int{-1, 0, 101} {
		_, _, err := GenerateRecoveryCodes(n)
		wantKind(t, err, errs.Invalid, "recovery code count must be between 1 and 100")
	}
	if codes, _, err := GenerateRecoveryCodes(100); err != nil || len(codes) != 100 {
		t.Fatalf("100 codes: %d, %v", len(codes), err)
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ABCDE-FGHJK", "ABCDEFGHJK"},
		{"abcde-fghjk", "ABCDEFGHJK"},
		{" abcde fghjk\t", "ABCDEFGHJK"},
		{"a-b-c-d-e-f-g-h-j-k", "ABCDEFGHJK"},
		{"oO0iIlL1", "00011111"},
		{"UUUUU", "UUUUU"},
		{"ünï-code", "üNïC0DE"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := NormalizeRecoveryCode(tc.in); got != tc.want {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatchRecoveryCodeRefusesNonCodes(t *testing.T) {
	// Even a stored hash of something that is not a code must not match it.
	hashes := [][]byte{HashRecoveryCode(""), HashRecoveryCode("123456"), nil, {}}
	for _, in := range []string{"", "123456", "ABCDE-FGHJK"} {
		if idx, ok := MatchRecoveryCode(in, hashes); ok || idx != -1 {
			t.Errorf("MatchRecoveryCode(%q) = %d, %v", in, idx, ok)
		}
	}
	if idx, ok := MatchRecoveryCode("ABCDE-FGHJK", nil); ok || idx != -1 {
		t.Errorf("match against no hashes = %d, %v", idx, ok)
	}
	// The first of duplicate hashes is the one reported.
	h := HashRecoveryCode("ABCDE-FGHJK")
	if idx, ok := MatchRecoveryCode("abcde fghjk", [][]byte{{1}, h, h}); !ok || idx != 1 {
		t.Errorf("duplicate hashes: %d, %v; want 1, true", idx, ok)
	}
}

// FuzzNormalizeRecoveryCode: normalising is idempotent, leaves no
// separators or lower-case letters, does not change the hash, and the two
// LooksLike never both hold.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", "abcde fghjk", "oooo0-iiil1", "123456", "", "\xff-\x00", "ü-ö"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeRecoveryCode(s)
		if again := NormalizeRecoveryCode(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if strings.ContainsAny(n, " \t\r\n-abcdefghijklmnopqrstuvwxyzOIL") {
			t.Fatalf("%q normalised to %q, which keeps a separator, a lower-case or an ambiguous letter", s, n)
		}
		if !bytes.Equal(HashRecoveryCode(s), HashRecoveryCode(n)) {
			t.Fatalf("hash of %q differs from hash of its normal form", s)
		}
		if LooksLikeRecoveryCode(s) {
			if !LooksLikeRecoveryCode(n) || len(n) != RecoveryCodeLen {
				t.Fatalf("%q looks like a code but its normal form %q does not", s, n)
			}
			if LooksLikeTOTP(s) {
				t.Fatalf("%q looks like both kinds of code", s)
			}
		}
	})
}
