package authz_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
)

func TestCatalogue(t *testing.T) {
	cat := authz.Catalogue()
	t.Run("lists the seventeen permissions in their documented order", func(t *testing.T) {
		var names []string
		for _, info := range cat {
			names = append(names, string(info.Name))
		}
		if got := strings.Join(names, ", "); got != validList {
			t.Fatalf("catalogue = %s\nwant %s", got, validList)
		}
	})
	t.Run("gives every permission a one-line description", func(t *testing.T) {
		for _, info := range cat {
			if info.Description == "" || strings.ContainsAny(info.Description, "\r\n") {
				t.Errorf("%s: description %q is not one line", info.Name, info.Description)
			}
		}
	})
	t.Run("returns a copy a caller cannot use to change it", func(t *testing.T) {
		cat[0].Name = "everything"
		if got := authz.Catalogue()[0].Name; got != authz.RecordsRead {
			t.Fatalf("catalogue changed through a returned slice: first entry is %q", got)
		}
	})
}

func TestParsePermission(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    authz.Permission
		message string // empty when parsing succeeds
	}{
		{"a catalogue name parses to its constant", "records.read", authz.RecordsRead, ""},
		{"the last catalogue name parses too", "org.delete", authz.OrgDelete, ""},
		{"an unknown name is named and the valid ones listed", "records.delete", "",
			`unknown permission "records.delete"; valid permissions are ` + validList},
		{"case is not folded", "Records.Read", "",
			`unknown permission "Records.Read"; valid permissions are ` + validList},
		{"surrounding space is not trimmed", " records.read", "",
			`unknown permission " records.read"; valid permissions are ` + validList},
		{"the empty string is unknown", "", "",
			`unknown permission ""; valid permissions are ` + validList},
		{"a hostile long name is cut in the message", strings.Repeat("a", 10000), "",
			`unknown permission "` + strings.Repeat("a", 64) + `"...; valid permissions are ` + validList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authz.ParsePermission(tt.in)
			if tt.message == "" {
				wantAllowed(t, err)
				if got != tt.want {
					t.Fatalf("ParsePermission(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			wantDenied(t, err, errs.Invalid, tt.message)
			if got != "" {
				t.Fatalf("ParsePermission returned %q with its error", got)
			}
		})
	}
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []authz.Permission
		message string // empty when parsing succeeds
	}{
		{"known names parse in their given order", []string{"files.read", "records.read"},
			[]authz.Permission{authz.FilesRead, authz.RecordsRead}, ""},
		{"duplicates are dropped keeping the first", []string{"audit.read", "members.read", "audit.read"},
			[]authz.Permission{authz.AuditRead, authz.MembersRead}, ""},
		{"an empty list parses to an empty, non-nil list", []string{}, []authz.Permission{}, ""},
		{"a nil list parses to an empty, non-nil list", nil, []authz.Permission{}, ""},
		{"one unknown name is reported alone", []string{"records.read", "root"}, nil,
			`unknown permission "root"; valid permissions are ` + validList},
		{"every unknown name is reported at once", []string{"root", "records.read", "sudo", "records.delete"}, nil,
			`unknown permissions "root", "sudo", "records.delete"; valid permissions are ` + validList},
		{"a hostile number of unknown names is counted, not listed",
			slices.Repeat([]string{"x"}, 1000), nil,
			`unknown permissions "x", "x", "x", "x", "x", "x", "x", "x", "x", "x" and 990 more; valid permissions are ` + validList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authz.ParsePermissions(tt.in)
			if tt.message != "" {
				wantDenied(t, err, errs.Invalid, tt.message)
				return
			}
			wantAllowed(t, err)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParsePermissions(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParsePermission(f *testing.F) {
	for _, info := range authz.Catalogue() {
		f.Add(string(info.Name))
	}
	for _, s := range []string{"", "records", "records.", ".read", "RECORDS.READ", "records.read\x00", "org.delete ", "\xff\xfe", strings.Repeat("é", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := authz.ParsePermission(s)
		if err == nil {
			// Success means exactly a catalogue name, nothing near it.
			if string(p) != s || !slices.ContainsFunc(authz.Catalogue(), func(i authz.PermissionInfo) bool { return i.Name == p }) {
				t.Fatalf("ParsePermission(%q) = %q, not a catalogue entry", s, p)
			}
			return
		}
		if p != "" {
			t.Fatalf("ParsePermission(%q) returned %q with an error", s, p)
		}
		if errs.KindOf(err) != errs.Invalid {
			t.Fatalf("ParsePermission(%q) error kind = %s", s, errs.KindOf(err))
		}
		// The message repeats caller input: it must stay bounded and
		// printable whatever the input, so it is safe to return and log.
		msg := errs.SafeMessage(err)
		if len(msg) > 600 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00\r\n") {
			t.Fatalf("unsafe message for %q: %q", s, msg)
		}
		// And the input must round-trip through ParsePermissions the same way.
		if _, err := authz.ParsePermissions([]string{s}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("ParsePermissions([%q]) = %v, want invalid", s, err)
		}
	})
}
