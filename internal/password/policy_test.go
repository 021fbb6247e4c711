package password

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/errs"
)

// strictPolicy switches every rule on.
func strictPolicy() Policy {
	p := DefaultPolicy()
	p.RequireLower, p.RequireUpper, p.RequireDigit, p.RequireSymbol = true, true, true, true
	return p
}

// wantPhrase is the test's own copy of each rule's text under strictPolicy,
// so a change of wording, or any echo of input, fails here.
var wantPhrase = map[string]string{
	RuleMinLength: "be at least 12 characters long",
	RuleMaxLength: "be at most 128 characters long",
	RuleLowercase: "contain a lowercase letter",
	RuleUppercase: "contain an uppercase letter",
	RuleDigit:     "contain a digit",
	RuleSymbol:    "contain a symbol (a character that is neither a letter nor a digit)",
	RuleCommon:    "not be a commonly used password",
	RuleEmail:     "not contain the part of your email address before the @",
}

// wantMessage builds the expected one-sentence message for rules.
func wantMessage(rules []string) string {
	phrases := make([]string, len(rules))
	for i, r := range rules {
		phrases[i] = wantPhrase[r]
	}
	if len(phrases) == 1 {
		return "Password must " + phrases[0] + "."
	}
	return "Password must " + strings.Join(phrases[:len(phrases)-1], ", ") + " and " + phrases[len(phrases)-1] + "."
}

func rulesOf(vs []Violation) []string {
	rules := make([]string, len(vs))
	for i, v := range vs {
		rules[i] = v.Rule
	}
	return rules
}

func TestDefaultPolicyFollowsNIST(t *testing.T) {
	want := Policy{MinLength: 12, MaxLength: 128, RejectCommon: true, RejectEmailLocalPart: true}
	if got := DefaultPolicy(); got != want {
		t.Errorf("DefaultPolicy() = %+v, want %+v", got, want)
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Error(err)
	}
}

func TestPolicyMarshalsAsSnakeCaseJSON(t *testing.T) {
	b, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"min_length":12,"max_length":128,"require_lower":false,"require_upper":false,"require_digit":false,"require_symbol":false,"reject_common":true,"reject_email_local_part":true,"max_age_days":0}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || back != DefaultPolicy() {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestPolicyCheckFailsEachRuleAlone(t *testing.T) {
	const email = "alice.smith@example.com"
	for _, tc := range []struct {
		rule, password string
	}{
		{RuleMinLength, "Zq7#vLp2xK9"},              // 11 characters
		{RuleMaxLength, strings.Repeat("Zq7#", 33)}, // 132 characters
		{RuleLowercase, "ZQ7#VLP2XK9$WR"},
		{RuleUppercase, "zq7#vlp2xk9$wr"},
		{RuleDigit, "Zq#vLpxK$wRmTn"},
		{RuleSymbol, "Zq7vLp2xK9wRmT"},
		{RuleCommon, "Password123!"},    // "password" with decoration
		{RuleEmail, "Xalice.smith7#Q"},  // contains the local part
		{RuleEmail, "Q7#ALICE.SMITHzz"}, // in any case
	} {
		t.Run(tc.rule+" fails alone", func(t *testing.T) {
			err := strictPolicy().Check(tc.password, email)
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Check = %v, want an errs.Invalid error", err)
			}
			vs := Violations(err)
			want := []Violation{{Rule: tc.rule, Message: wantMessage([]string{tc.rule})}}
			if !slices.Equal(vs, want) {
				t.Errorf("Violations = %+v, want %+v", vs, want)
			}
			if got := errs.SafeMessage(err); got != want[0].Message {
				t.Errorf("message = %q, want %q", got, want[0].Message)
			}
		})
	}
}

func TestPolicyCheckListsEveryFailedRule(t *testing.T) {
	p := DefaultPolicy()
	p.RequireUpper, p.RequireDigit = true, true
	err := p.Check("dragon", "bob@example.com")
	want := []string{RuleMinLength, RuleUppercase, RuleDigit, RuleCommon}
	if got := rulesOf(Violations(err)); !slices.Equal(got, want) {
		t.Fatalf("rules = %v, want %v", got, want)
	}
	msg := "Password must be at least 12 characters long, contain an uppercase letter, contain a digit and not be a commonly used password."
	if got := errs.SafeMessage(err); got != msg {
		t.Errorf("message:\n got %q\nwant %q", got, msg)
	}
	if got := err.Error(); got != "password.Check: "+msg+": rules broken: min_length, uppercase, digit, common" {
		t.Errorf("Error() = %q", got)
	}

	err = strictPolicy().Check("alice", "alice@example.com")
	want = []string{RuleMinLength, RuleUppercase, RuleDigit, RuleSymbol, RuleCommon, RuleEmail}
	if got := rulesOf(Violations(err)); !slices.Equal(got, want) {
		t.Errorf("rules = %v, want %v", got, want)
	}
}

func TestPolicyCheckAcceptsGoodPasswords(t *testing.T) {
	for _, tc := range []struct {
		policy          Policy
		password, email string
	}{
		{DefaultPolicy(), "correct horse battery staple", "alice@example.com"},
		{DefaultPolicy(), "Ünïcödé pässwörd ok", "alice@example.com"},
		{DefaultPolicy(), "ab sitting on a bench", "ab@example.com"}, // local part too short to matter
		{DefaultPolicy(), "xx" + strings.Repeat("y", 126), ""},       // exactly 128
		{strictPolicy(), "Tr0ub4dour&3 horse", "alice+work@example.com"},
	} {
		if err := tc.policy.Check(tc.password, tc.email); err != nil {
			t.Errorf("Check(%q) = %v", tc.password, err)
		}
	}
}

func TestPolicyCheckEmailLocalPart(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		password, email string
		fails           bool
	}{
		{"my name is alice smith", "alice@example.com", true},
		{"my name is ALICE smith", "Alice@Example.com", true},
		{"the alice in wonderland", "alice+work@example.com", true}, // sub-address ignored
		{"alice+work is my login", "alice+work@example.com", true},
		{"jo is short for joanna", "jo@example.com", false}, // under 3 characters
		{"example.com is a domain", "bob@example.com", false},
		{"quoted@local is mine ok", `"quoted@local"@example.com`, false},
		{"nobody here at all ok", "", false},
		{"carol without any domain", "carol", true}, // no @: all of it is the local part
		{"rule off for eve is fine", "eve@example.com", false},
	} {
		pol := p
		if strings.HasPrefix(tc.password, "rule off") {
			pol.RejectEmailLocalPart = false
		}
		err := pol.Check(tc.password, tc.email)
		if got := slices.Contains(rulesOf(Violations(err)), RuleEmail); got != tc.fails {
			t.Errorf("Check(%q, %q): email rule failed = %v, want %v (%v)", tc.password, tc.email, got, tc.fails, err)
		}
	}
}

func TestPolicyLengthCountsCharactersNotBytes(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Check(strings.Repeat("é", 11), ""); !slices.Equal(rulesOf(Violations(err)), []string{RuleMinLength}) {
		t.Errorf("11 × é (22 bytes): %v, want min_length", err)
	}
	if err := p.Check(strings.Repeat("é", 12), ""); err != nil {
		t.Errorf("12 × é: %v", err)
	}
	// 400 characters fit a max_length of 1024, but not the Hasher's 1024 bytes.
	p.MaxLength = 1024
	err := p.Check(strings.Repeat("日", 400), "")
	if got := Violations(err); len(got) != 1 || got[0] != (Violation{RuleMaxLength, "Password must be at most 1024 bytes long."}) {
		t.Errorf("1200-byte password: %+v", got)
	}
}

func TestPolicyCheckNeverEchoesThePassword(t *testing.T) {
	const email = "Zelda.Q@example.com"
	for _, pw := range []string{
		"", "a", "hunter2", "Password123!", "zelda.q-2024", "Zq7#vLp2xK9",
		strings.Repeat("Secret#", 40), "секрет", "日本語のパスワード", "\x00\xff\xfe",
	} {
		err := strictPolicy().Check(pw, email)
		if err == nil {
			t.Fatalf("Check(%q) passed", pw)
		}
		texts := []string{err.Error(), errs.SafeMessage(err)}
		for _, v := range Violations(err) {
			texts = append(texts, v.Message)
		}
		for _, s := range texts {
			if utf8.RuneCountInString(pw) >= 2 && strings.Contains(s, pw) {
				t.Errorf("error text %q contains the password %q", s, pw)
			}
			if strings.Contains(strings.ToLower(s), "zelda") {
				t.Errorf("error text %q contains the email", s)
			}
		}
		if got := errs.SafeMessage(err); got != wantMessage(rulesOf(Violations(err))) {
			t.Errorf("message %q is not made of the rules' fixed texts", got)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*Policy)
		message string
		rules   []string
	}{
		{
			name:    "the default is valid",
			change:  func(*Policy) {},
			message: "",
		},
		{
			name:    "a maximum below 64 is rejected",
			change:  func(p *Policy) { p.MaxLength = 32 },
			message: "password policy is invalid: max_length must be at least 64 (got 32).",
			rules:   []string{RuleMaxLength},
		},
		{
			name:    "a maximum above 1024 is rejected",
			change:  func(p *Policy) { p.MaxLength = 4096 },
			message: "password policy is invalid: max_length must be at most 1024 (got 4096).",
			rules:   []string{RuleMaxLength},
		},
		{
			name:    "a maximum below the minimum is rejected",
			change:  func(p *Policy) { p.MinLength = 100; p.MaxLength = 80 },
			message: "password policy is invalid: max_length must not be below min_length (got 80 < 100).",
			rules:   []string{RuleMaxLength},
		},
		{
			name:   "every problem is listed at once",
			change: func(p *Policy) { p.MinLength = 4; p.MaxLength = 10; p.MaxAgeDays = -1 },
			message: "password policy is invalid: min_length must be at least 8 (got 4); " +
				"max_length must be at least 64 (got 10); " +
				"max_age_days must be between 0 (off) and 3650 (got -1).",
			rules: []string{RuleMinLength, RuleMaxLength, RuleMaxAge},
		},
		{
			name:    "a maximum age above ten years is rejected",
			change:  func(p *Policy) { p.MaxAgeDays = 3651 },
			message: "password policy is invalid: max_age_days must be between 0 (off) and 3650 (got 3651).",
			rules:   []string{RuleMaxAge},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.change(&p)
			err := p.Validate()
			if tc.message == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Validate = %v, want errs.Invalid", err)
			}
			if got := errs.SafeMessage(err); got != tc.message {
				t.Errorf("message:\n got %q\nwant %q", got, tc.message)
			}
			if got := rulesOf(Violations(err)); !slices.Equal(got, tc.rules) {
				t.Errorf("rules = %v, want %v", got, tc.rules)
			}
		})
	}
}

func TestViolationsOfOtherErrorsIsNil(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), errs.E(errs.Invalid, "op", "msg")} {
		if vs := Violations(err); vs != nil {
			t.Errorf("Violations(%v) = %v", err, vs)
		}
	}
	// The list returned is the caller's to change.
	err := DefaultPolicy().Check("short", "")
	Violations(err)[0].Rule = "changed"
	if Violations(err)[0].Rule != RuleMinLength {
		t.Error("Violations shares its slice with the error")
	}
}

func TestPolicyExpired(t *testing.T) {
	changed := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	p := DefaultPolicy()
	if p.Expired(changed, changed.AddDate(50, 0, 0)) {
		t.Error("expired with max_age_days 0")
	}
	p.MaxAgeDays = 90
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{changed.AddDate(0, 0, 89), false},
		{changed.AddDate(0, 0, 90).Add(-time.Second), false},
		{changed.AddDate(0, 0, 90), true},
		{changed.AddDate(1, 0, 0), true},
	} {
		if got := p.Expired(changed, tc.now); got != tc.want {
			t.Errorf("Expired(at %v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}

// FuzzPolicyCheck checks that Check never panics, that its verdict is
// consistent, and that every text it returns is exactly the fixed text of
// the rules that failed, so no part of the password or email can leak.
func FuzzPolicyCheck(f *testing.F) {
	f.Add("correct horse battery staple", "alice@example.com")
	f.Add("Password123!", "bob@example.com")
	f.Add("alice", "alice@example.com")
	f.Add("", "")
	f.Add("\xff\xfe\x00", "@@@")
	f.Add(strings.Repeat("日", 400), "x+y@z")
	f.Fuzz(func(t *testing.T, password, email string) {
		err := strictPolicy().Check(password, email)
		if err == nil {
			if n := utf8.RuneCountInString(password); n < 12 || n > 128 {
				t.Fatalf("accepted a password of %d characters", n)
			}
			return
		}
		if errs.KindOf(err) != errs.Invalid {
			t.Fatalf("kind %v", errs.KindOf(err))
		}
		vs := Violations(err)
		if len(vs) == 0 {
			t.Fatal("error without violations")
		}
		rules := rulesOf(vs)
		for _, v := range vs {
			if v.Message != wantMessage([]string{v.Rule}) {
				t.Fatalf("violation %q has message %q", v.Rule, v.Message)
			}
		}
		if got := errs.SafeMessage(err); got != wantMessage(rules) {
			t.Fatalf("message %q, want %q", got, wantMessage(rules))
		}
		if got := err.Error(); got != "password.Check: "+wantMessage(rules)+": rules broken: "+strings.Join(rules, ", ") {
			t.Fatalf("Error() = %q", got)
		}
	})
}
