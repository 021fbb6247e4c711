package password

import (
	_ "embed" // for the common-password list
	"strings"
	"sync"
	"unicode"
)

// commonText is the 10,000 most common passwords, most common first, one per
// line, lower-cased and deduplicated; see COMMON-PASSWORDS.md for its source
// and gen_common.go for how it was made.
//
//go:embed common-10k.txt
var commonText string

// commonSet is built on first use rather than at start-up, so processes that
// never check a policy (CLI commands, workers) do not pay for the map. Once
// built it is never written, so concurrent lookups are safe.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.SplitSeq(commonText, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// IsCommon reports whether password is one of the 10,000 most common
// passwords, ignoring case, either as it is or with its trailing digits and
// symbols removed: "Password123!" is "password" with decoration that
// guessing tools try first, so it is as weak.
func IsCommon(password string) bool {
	set := commonSet()
	lower := strings.ToLower(password)
	if _, ok := set[lower]; ok {
		return true
	}
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if stem == "" || stem == lower {
		return false
	}
	_, ok := set[stem]
	return ok
}
