package password

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Policy is an organization's password rules (IA3). Lengths count Unicode
// code points (runes), without normalization: what a user perceives as one
// character may count as two, which only errs towards longer passwords.
type Policy struct {
	MinLength            int  `json:"min_length"`              // fewest characters
	MaxLength            int  `json:"max_length"`              // most characters; at least 64 so passphrases fit
	RequireLower         bool `json:"require_lower"`           // at least one lowercase letter
	RequireUpper         bool `json:"require_upper"`           // at least one uppercase letter
	RequireDigit         bool `json:"require_digit"`           // at least one digit
	RequireSymbol        bool `json:"require_symbol"`          // at least one character that is neither letter nor digit
	RejectCommon         bool `json:"reject_common"`           // refuse the 10,000 most common passwords
	RejectEmailLocalPart bool `json:"reject_email_local_part"` // refuse passwords containing the email's local part
	MaxAgeDays           int  `json:"max_age_days"`            // force a change after this many days; 0 = never
}

// DefaultPolicy returns the rules of NIST SP 800-63B: at least 12
// characters, up to 128, no known-common passwords, nothing derived from the
// account's email, no composition rules and no forced expiry. NIST found that
// composition rules ("one digit, one symbol") make passwords harder to
// remember without making them harder to guess (users write "Password1!"),
// whereas length and a blocklist do make them harder; periodic expiry pushes
// users to predictable variations. Organizations may still switch classes
// and expiry on.
func DefaultPolicy() Policy {
	return Policy{
		MinLength:            12,
		MaxLength:            128,
		RejectCommon:         true,
		RejectEmailLocalPart: true,
	}
}

// Limits on a policy itself. An admin may tighten rules, never weaken them
// below what NIST SP 800-63B requires (8 characters minimum, at least 64
// allowed).
const (
	policyMinMinLength = 8
	policyMinMaxLength = 64
	policyMaxMaxLength = MaxPasswordBytes
	policyMaxAgeDays   = 3650
)

// Rule names, stable: API clients match on them.
const (
	RuleMinLength = "min_length"
	RuleMaxLength = "max_length"
	RuleLowercase = "lowercase"
	RuleUppercase = "uppercase"
	RuleDigit     = "digit"
	RuleSymbol    = "symbol"
	RuleCommon    = "common"
	RuleEmail     = "email"
	RuleMaxAge    = "max_age_days" // only from Policy.Validate
)

// Violation is one broken rule: its stable name and a sentence for people.
type Violation struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// PolicyError lists every broken rule. It is the cause inside the errs.Error
// that Check and Validate return; use Violations to get the list.
type PolicyError struct {
	Violations []Violation
}

// Error names the broken rules (never their texts, which the errs.Error
// around it already carries).
func (e *PolicyError) Error() string {
	rules := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		rules[i] = v.Rule
	}
	return "rules broken: " + strings.Join(rules, ", ")
}

// Violations returns the broken rules carried by err (from Check or
// Validate), or nil if it carries none.
func Violations(err error) []Violation {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return slices.Clone(pe.Violations)
	}
	return nil
}

// Validate reports whether the policy itself is acceptable, naming every
// problem at once: min_length at least 8; max_length between 64 and 1024
// and not below min_length; max_age_days between 0 and 3650. The error is
// errs.Invalid with a *PolicyError whose rules are the field names.
func (p Policy) Validate() error {
	var vs []Violation
	add := func(rule, format string, args ...any) {
		vs = append(vs, Violation{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if p.MinLength < policyMinMinLength {
		add(RuleMinLength, "min_length must be at least %d (got %d)", policyMinMinLength, p.MinLength)
	}
	if p.MaxLength < policyMinMaxLength {
		add(RuleMaxLength, "max_length must be at least %d (got %d)", policyMinMaxLength, p.MaxLength)
	}
	if p.MaxLength > policyMaxMaxLength {
		add(RuleMaxLength, "max_length must be at most %d (got %d)", policyMaxMaxLength, p.MaxLength)
	}
	if p.MaxLength < p.MinLength {
		add(RuleMaxLength, "max_length must not be below min_length (got %d < %d)", p.MaxLength, p.MinLength)
	}
	if p.MaxAgeDays < 0 || p.MaxAgeDays > policyMaxAgeDays {
		add(RuleMaxAge, "max_age_days must be between 0 (off) and %d (got %d)", policyMaxAgeDays, p.MaxAgeDays)
	}
	if len(vs) == 0 {
		return nil
	}
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Message
	}
	return errs.E(errs.Invalid, "password.Validate",
		"password policy is invalid: "+strings.Join(msgs, "; ")+".", &PolicyError{Violations: vs})
}

// Check reports every rule of p that password breaks, for the account whose
// address is email. It returns nil or an errs.Invalid error whose message
// names all broken rules in one sentence ("Password must be at least 12
// characters long, contain a digit and not be a commonly used password.")
// and whose cause is a *PolicyError listing them (see Violations). Neither
// ever contains the password or the email address: the texts depend only on
// the policy and on which rules failed.
//
// Besides MaxLength, a password longer than MaxPasswordBytes bytes breaks
// max_length, because the Hasher would refuse it.
func (p Policy) Check(password, email string) error {
	var phrases []string
	var rules []string
	fail := func(rule, phrase string) {
		rules = append(rules, rule)
		phrases = append(phrases, phrase)
	}

	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		fail(RuleMinLength, fmt.Sprintf("be at least %d characters long", p.MinLength))
	}
	switch {
	case p.MaxLength > 0 && n > p.MaxLength:
		fail(RuleMaxLength, fmt.Sprintf("be at most %d characters long", p.MaxLength))
	case len(password) > MaxPasswordBytes:
		fail(RuleMaxLength, fmt.Sprintf("be at most %d bytes long", MaxPasswordBytes))
	}

	var lower, upper, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsLetter(r):
			// Anything neither letter nor digit counts, space included:
			// spaces make passphrases, which NIST wants allowed.
			symbol = true
		}
	}
	if p.RequireLower && !lower {
		fail(RuleLowercase, "contain a lowercase letter")
	}
	if p.RequireUpper && !upper {
		fail(RuleUppercase, "contain an uppercase letter")
	}
	if p.RequireDigit && !digit {
		fail(RuleDigit, "contain a digit")
	}
	if p.RequireSymbol && !symbol {
		fail(RuleSymbol, "contain a symbol (a character that is neither a letter nor a digit)")
	}
	if p.RejectCommon && IsCommon(password) {
		fail(RuleCommon, "not be a commonly used password")
	}
	if p.RejectEmailLocalPart && containsEmailLocalPart(password, email) {
		fail(RuleEmail, "not contain the part of your email address before the @")
	}

	if len(rules) == 0 {
		return nil
	}
	vs := make([]Violation, len(rules))
	for i := range rules {
		vs[i] = Violation{Rule: rules[i], Message: "Password must " + phrases[i] + "."}
	}
	return errs.E(errs.Invalid, "password.Check", "Password must "+joinAnd(phrases)+".", &PolicyError{Violations: vs})
}

// Expired reports whether a password last changed at changedAt must be
// changed at now under MaxAgeDays (never, when it is 0). The clock is the
// caller's, so tests and the store's transaction time decide.
func (p Policy) Expired(changedAt, now time.Time) bool {
	if p.MaxAgeDays <= 0 {
		return false
	}
	return !now.Before(changedAt.AddDate(0, 0, p.MaxAgeDays))
}

// minEmailPart is the shortest local part worth rejecting: shorter ones
// ("jo@") would forbid half of all passphrases for no gain.
const minEmailPart = 3

// containsEmailLocalPart reports whether password contains, ignoring case,
// the local part of email (what precedes the last @) or that part without a
// "+tag" suffix, whichever are at least minEmailPart characters long.
func containsEmailLocalPart(password, email string) bool {
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	local = strings.ToLower(strings.TrimSpace(local))
	candidates := []string{local}
	if i := strings.IndexByte(local, '+'); i > 0 {
		candidates = append(candidates, local[:i])
	}
	pw := strings.ToLower(password)
	for _, c := range candidates {
		if utf8.RuneCountInString(c) >= minEmailPart && strings.Contains(pw, c) {
			return true
		}
	}
	return false
}

// joinAnd joins phrases as English: "a", "a and b", "a, b and c".
func joinAnd(phrases []string) string {
	switch len(phrases) {
	case 0:
		return ""
	case 1:
		return phrases[0]
	}
	return strings.Join(phrases[:len(phrases)-1], ", ") + " and " + phrases[len(phrases)-1]
}
