package password

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestCommonListIntegrity(t *testing.T) {
	// The digest recorded in COMMON-PASSWORDS.md: the list is the one made
	// by gen_common.go, not edited by hand.
	sum := sha256.Sum256([]byte(commonText))
	if got, want := hex.EncodeToString(sum[:]), "6d1540c6702ca6dd31226d50591065f82fd84255a4aaa9df80042527a93f1f93"; got != want {
		t.Errorf("sha256(common-10k.txt) = %s, want %s", got, want)
	}
	lines := strings.Split(strings.TrimSuffix(commonText, "\n"), "\n")
	if len(lines) != 10000 {
		t.Errorf("%d lines, want 10000", len(lines))
	}
	if n := len(commonSet()); n != 10000 {
		t.Errorf("%d distinct passwords, want 10000", n)
	}
	for i, l := range lines {
		if l == "" || l != strings.ToLower(l) || strings.TrimSpace(l) != l {
			t.Errorf("line %d %q is empty, not lower-case or padded", i+1, l)
		}
	}
	for _, pw := range []string{"password", "123456", "qwerty"} {
		if _, ok := commonSet()[pw]; !ok {
			t.Errorf("%q missing", pw)
		}
	}
	if lines[0] != "123456" || lines[1] != "password" {
		t.Errorf("list does not start with the most common passwords: %q", lines[:2])
	}
}

func TestIsCommon(t *testing.T) {
	for pw, want := range map[string]bool{
		"password":                     true,
		"PASSWORD":                     true,
		"Password123!":                 true, // "password" plus decoration
		"qwerty!!":                     true,
		"Dragon2024":                   true,
		"123456":                       true, // digits only: matched as is
		"michael":                      true,
		"letmein":                      true,
		"correct horse battery staple": false,
		"!password":                    false, // only trailing decoration is stripped
		"passwordmanager":              false,
		"":                             false,
		"!!!":                          false,
		"x7#Lq9$vP2":                   false,
	} {
		if got := IsCommon(pw); got != want {
			t.Errorf("IsCommon(%q) = %v, want %v", pw, got, want)
		}
	}
}
