package password

import (
	"bytes"
	"strings"
	"testing"
)

func TestPHCEncodesAndParsesBackExactly(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := bytes.Repeat([]byte{0xfb}, 32)
	p := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	s := encodePHC(p, salt, key)
	want := "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("+/v7", 10) + "+/s"
	if s != want {
		t.Fatalf("encodePHC:\n got %s\nwant %s", s, want)
	}
	got, err := parsePHC(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.params != p || !bytes.Equal(got.salt, salt) || !bytes.Equal(got.key, key) {
		t.Errorf("parsePHC = %+v", got)
	}
}

func TestPHCAcceptsTheLimits(t *testing.T) {
	for name, s := range map[string]string{
		"largest":  "$argon2id$v=19$m=4194304,t=100,p=255$" + b64.EncodeToString(make([]byte, 64)) + "$" + b64.EncodeToString(make([]byte, 64)),
		"smallest": "$argon2id$v=19$m=8,t=1,p=1$" + b64.EncodeToString(make([]byte, 8)) + "$" + b64.EncodeToString(make([]byte, 16)),
	} {
		if len(s) > maxPHCLen {
			t.Errorf("%s: %d bytes is over maxPHCLen", name, len(s))
		}
		if _, err := parsePHC(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParsePHC checks that parsing never panics, that whatever parses is
// within the limits, and that it re-encodes to exactly the input (one
// spelling per hash, so nothing can hide in a stored string).
func FuzzParsePHC(f *testing.F) {
	for _, v := range katVectors {
		f.Add(v.phc)
	}
	for _, s := range hostilePHC {
		if len(s) <= 2*maxPHCLen {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePHC(s)
		if err != nil {
			return
		}
		if problems := got.params.check(false); len(problems) > 0 {
			t.Fatalf("parsed out-of-range params %+v: %v", got.params, problems)
		}
		if got.params.Memory < 8*uint32(got.params.Threads) {
			t.Fatalf("memory %d below 8 KiB per lane (%d)", got.params.Memory, got.params.Threads)
		}
		if re := encodePHC(got.params, got.salt, got.key); re != s {
			t.Fatalf("re-encoding differs:\n in %q\nout %q", s, re)
		}
	})
}
