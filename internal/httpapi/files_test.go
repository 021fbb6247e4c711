package httpapi

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		spec            string
		start, length   int64
		ok, satisfiable bool
	}{
		{"bytes=0-9", 0, 10, true, true},
		{"bytes=990-", 990, 10, true, true},
		{"bytes=-10", 990, 10, true, true},
		{"bytes=-5000", 0, 1000, true, true},
		{"bytes=0-5000", 0, 1000, true, true},
		{"bytes=999-999", 999, 1, true, true},
		{"bytes=1000-", 0, 0, true, false},
		{"bytes=1000-1001", 0, 0, true, false},
		{"bytes=-0", 0, 0, true, false},
		{"bytes=5-4", 0, 0, false, false},
		{"bytes=0-1,3-4", 0, 0, false, false},
		{"bytes=a-b", 0, 0, false, false},
		{"bytes=+1-2", 0, 0, false, false},
		{"bytes= 1-2", 1, 2, true, true},
		{"items=0-1", 0, 0, false, false},
		{"bytes=99999999999999999999-", 0, 0, false, false},
		{"bytes=-", 0, 0, false, false},
	}
	for _, tc := range tests {
		start, length, ok, sat := parseRange(tc.spec, size)
		if ok != tc.ok || sat != tc.satisfiable || (sat && (start != tc.start || length != tc.length)) {
			t.Errorf("%q: %d+%d ok=%v satisfiable=%v, want %d+%d %v %v", tc.spec, start, length, ok, sat, tc.start, tc.length, tc.ok, tc.satisfiable)
		}
	}
	if _, _, ok, sat := parseRange("bytes=0-", 0); !ok || sat {
		t.Errorf("any range of an empty file must be unsatisfiable")
	}
}

// A range the parser accepts always lies inside the file.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-1", "bytes=5-", "bytes=0-1,2-3", "bytes=9223372036854775807-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, spec string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 { // math.MinInt64
			return
		}
		start, length, ok, sat := parseRange(spec, size)
		if ok && sat && (start < 0 || length < 1 || start+length > size || start+length < start) {
			t.Fatalf("%q over %d: %d+%d", spec, size, start, length)
		}
	})
}

// The header never lets a name break out, and a conforming parser reads
// the exact name back from filename*.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"report.pdf", `a"b\c`, "Résumé final.txt", "x\r\nSet-Cookie: a=b", "名前.png", "100%.txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		h := contentDisposition(name)
		if strings.ContainsAny(h, "\r\n\x00") {
			t.Fatalf("%q: header %q holds a control character", name, h)
		}
		if !strings.HasPrefix(h, `attachment; filename="`) || strings.Count(h, `"`) != 2 {
			t.Fatalf("%q: header %q", name, h)
		}
		_, params, err := mime.ParseMediaType(h)
		if err != nil {
			t.Fatalf("%q: %q does not parse: %v", name, h, err)
		}
		if got := params["filename"]; got != name && isValidUTF8NoControls(name) {
			t.Fatalf("%q: parsed back as %q from %q", name, got, h)
		}
	})
}

// isValidUTF8NoControls is what the files service accepts as a name; only
// such names must round-trip exactly.
func isValidUTF8NoControls(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
