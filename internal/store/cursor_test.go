package store

import (
	"regexp"
	"testing"
)

var uuidish = regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString

func TestCursorRoundTripAndRefusals(t *testing.T) {
	c := Cursor{CreatedAt: 1764068400123456, ID: "0b7c9a52-3f1e-4d2a-9c1b-2f8e4d6a7b90"}
	got, err := DecodeCursor("test", c.Encode(), uuidish)
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "!!!", Cursor{CreatedAt: 1, ID: "x"}.Encode(), "MTIz", "YWJjOjBiN2M5YTUyLTNmMWUtNGQyYS05YzFiLTJmOGU0ZDZhN2I5MA"} {
		if _, err := DecodeCursor("test", bad, uuidish); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// FuzzDecodeCursor: cursors come from clients; decoding never panics and
// whatever it accepts encodes back to the same cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{CreatedAt: 42, ID: "0b7c9a52-3f1e-4d2a-9c1b-2f8e4d6a7b90"}.Encode())
	f.Add("")
	f.Add("Og")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor("fuzz", s, uuidish)
		if err != nil {
			return
		}
		again, err := DecodeCursor("fuzz", c.Encode(), uuidish)
		if err != nil || again != c {
			t.Fatalf("%q: decoded %+v, re-encoded and decoded %+v %v", s, c, again, err)
		}
	})
}
