package secrets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/logx"
)

// Value is a secret's plaintext value. It never shows itself: printing,
// logging or marshalling it yields "[REDACTED]". Read it with Text, OAuth
// or JSON, and Wipe it when done.
type Value struct {
	Type Type
	raw  []byte // canonical JSON: a string (password, api_key) or an object (oauth_token)
}

// OAuthTokenValue is the typed view of an oauth_token value. Members not
// listed here are kept in the stored JSON (see Value.JSON).
type OAuthTokenValue struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitempty"`
	ExpiresIn    int64     `json:"expires_in,omitempty"`
	Scope        string    `json:"scope,omitempty"`
}

// Text returns a password or API key; "" for an oauth_token.
func (v Value) Text() string {
	if v.Type == OAuthToken {
		return ""
	}
	var s string
	if json.Unmarshal(v.raw, &s) != nil {
		return ""
	}
	return s
}

// OAuth returns an oauth_token value's fields; false for other types.
func (v Value) OAuth() (OAuthTokenValue, bool) {
	var t OAuthTokenValue
	if v.Type != OAuthToken || json.Unmarshal(v.raw, &t) != nil {
		return OAuthTokenValue{}, false
	}
	return t, true
}

// JSON returns a copy of the value as JSON: a string, or for an
// oauth_token the whole object.
func (v Value) JSON() json.RawMessage { return bytes.Clone(v.raw) }

// Wipe overwrites the value's bytes. Copies made by Text, OAuth or JSON
// are the caller's to drop; Go cannot promise they leave memory.
func (v *Value) Wipe() {
	clear(v.raw)
	v.raw = nil
}

// String implements fmt.Stringer without showing the value.
func (v Value) String() string { return logx.Redacted }

// GoString implements fmt.GoStringer without showing the value.
func (v Value) GoString() string { return "secrets.Value{" + logx.Redacted + "}" }

// Format makes every fmt verb print "[REDACTED]".
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(logx.Redacted)) }

// LogValue implements slog.LogValuer without showing the value.
func (v Value) LogValue() slog.Value { return slog.StringValue(logx.Redacted) }

// MarshalJSON writes "[REDACTED]": a value is sent only by building the
// answer from JSON() on purpose.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(logx.Redacted) }

// invalid is a 400 whose message names the rule, never the input.
func invalid(op, msg string) error { return errs.E(errs.Invalid, op, msg) }

func typeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func checkType(op string, t Type) error {
	if t == "" {
		return invalid(op, "type: required, one of "+typeNames())
	}
	if !slices.Contains(Types, t) {
		if len(t) > 40 || !utf8.ValidString(string(t)) {
			return invalid(op, "type: unknown; must be one of "+typeNames())
		}
		return invalid(op, fmt.Sprintf("type: unknown type %q; must be one of %s", string(t), typeNames()))
	}
	return nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9 ._:/@-]*[A-Za-z0-9._:/@-])?$`)

func checkName(op, name string) error {
	switch {
	case name == "":
		return invalid(op, "name: required")
	case len(name) > MaxNameLength:
		return invalid(op, fmt.Sprintf("name: at most %d characters", MaxNameLength))
	case !namePattern.MatchString(name):
		return invalid(op, "name: letters, digits, spaces and . _ - : / @, starting with a letter or digit and not ending with a space")
	}
	return nil
}

// parseValue checks raw against t and returns its canonical JSON. Messages
// name the rule broken and never quote the value.
func parseValue(op string, t Type, raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, invalid(op, "value: required")
	}
	if len(raw) > MaxValueSize {
		return nil, invalid(op, fmt.Sprintf("value: at most %d bytes of JSON", MaxValueSize))
	}
	switch t {
	case Password, APIKey:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, invalid(op, fmt.Sprintf("value: must be a JSON string for type %s", t))
		}
		if s == "" {
			return nil, invalid(op, "value: must not be empty")
		}
		if t == APIKey {
			if strings.TrimSpace(s) != s {
				return nil, invalid(op, "value: an api_key must not start or end with whitespace (was it pasted with a newline?)")
			}
			if strings.ContainsFunc(s, unicode.IsControl) {
				return nil, invalid(op, "value: an api_key must not contain control characters")
			}
		} else if strings.ContainsRune(s, 0) {
			return nil, invalid(op, "value: a password must not contain NUL characters")
		}
		return json.Marshal(s)
	case OAuthToken:
		return parseOAuthToken(op, raw)
	}
	return nil, checkType(op, t)
}

// parseOAuthToken checks an oauth_token value: an object with a non-empty
// access_token; the other well-known members, when present, have their
// OAuth types. Every problem is reported at once.
func parseOAuthToken(op string, raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if raw[0] != '{' || dec.Decode(&obj) != nil || dec.More() {
		return nil, invalid(op, "value: an oauth_token value must be a JSON object with at least access_token "+
			"(and optionally refresh_token, token_type, expiry, expires_in, scope)")
	}
	var problems []string
	str := func(field string, required bool) {
		v, ok := obj[field]
		if !ok || v == nil {
			if required {
				problems = append(problems, "value."+field+": required, a non-empty string")
			}
			delete(obj, field)
			return
		}
		if s, ok := v.(string); !ok || s == "" {
			problems = append(problems, "value."+field+": must be a non-empty string")
		}
	}
	str("access_token", true)
	str("refresh_token", false)
	str("token_type", false)
	if _, ok := obj["scope"]; ok {
		if _, isStr := obj["scope"].(string); !isStr {
			problems = append(problems, "value.scope: must be a string (space-separated scopes)")
		}
	}
	if v, ok := obj["expiry"]; ok && v != nil {
		s, isStr := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !isStr || err != nil {
			problems = append(problems, "value.expiry: must be an RFC 3339 time such as 2027-01-02T15:04:05Z")
		}
	}
	if v, ok := obj["expires_in"]; ok && v != nil {
		n, isNum := v.(json.Number)
		if i, err := n.Int64(); !isNum || err != nil || i < 0 {
			problems = append(problems, "value.expires_in: must be a whole number of seconds, 0 or more")
		}
	}
	if len(problems) > 0 {
		return nil, invalid(op, strings.Join(problems, "; "))
	}
	return json.Marshal(obj)
}

// parseMetadata checks metadata and returns its canonical JSON ("{}" when
// absent). Metadata is stored in clear, so names and values that look like
// credentials are refused.
func parseMetadata(op string, raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return []byte("{}"), nil
	}
	if len(raw) > MaxMetadataSize {
		return nil, invalid(op, fmt.Sprintf("metadata: at most %d bytes of JSON", MaxMetadataSize))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if raw[0] != '{' || dec.Decode(&obj) != nil || dec.More() {
		return nil, invalid(op, "metadata: must be a JSON object of non-secret facts, such as description, username or url")
	}
	if len(obj) > MaxMetadataFields {
		return nil, invalid(op, fmt.Sprintf("metadata: at most %d fields", MaxMetadataFields))
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !metadataKey.MatchString(k) {
			problems = append(problems, fmt.Sprintf("metadata: field name %q must be 1 to 64 letters, digits, _ . or -, starting with a letter", clip(k)))
			continue
		}
		if logx.IsSecretKey(k) {
			problems = append(problems, "metadata."+k+": the name says it holds a credential, but metadata is stored "+
				"unencrypted and shown to everyone with secrets.manage; put the credential in value")
			continue
		}
		switch v := obj[k].(type) {
		case nil, bool, json.Number:
		case string:
			if len(v) > MaxMetadataString {
				problems = append(problems, fmt.Sprintf("metadata.%s: at most %d bytes", k, MaxMetadataString))
			} else if logx.RedactString(v) != v {
				problems = append(problems, "metadata."+k+": the value looks like a credential (a token, key or "+
					"URL with a password); metadata is not secret, so put it in value")
			}
		default:
			problems = append(problems, "metadata."+k+": must be a string, number, boolean or null")
		}
	}
	if len(problems) > 0 {
		return nil, invalid(op, strings.Join(problems, "; "))
	}
	return json.Marshal(obj)
}

var metadataKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// clip shortens a field name for a message.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// checkPurpose validates the reason given for reading a value.
func checkPurpose(op, purpose string) (string, error) {
	p := strings.TrimSpace(purpose)
	switch {
	case p == "":
		return "", invalid(op, "purpose: required: say why the value is needed (it is written to the audit log)")
	case utf8.RuneCountInString(p) > MaxPurposeLength:
		return "", invalid(op, fmt.Sprintf("purpose: at most %d characters", MaxPurposeLength))
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl):
		return "", invalid(op, "purpose: one line of text without control characters")
	}
	return p, nil
}
