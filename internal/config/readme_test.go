package config

import (
	"os"
	"strings"
	"testing"
)

// The README embeds MarkdownReference between these markers, so the
// configuration reference a reader sees is the one the code enforces.
const (
	readmePath        = "../../README.md"
	readmeStartMarker = "<!-- config-reference:start -->"
	readmeEndMarker   = "<!-- config-reference:end -->"
	// readmeUpdateEnv rewrites the README section instead of checking it.
	// It is a RAMPART_TEST_* name, which Load accepts as a non-setting.
	readmeUpdateEnv = "RAMPART_TEST_UPDATE_README"
)

const readmeRegenerate = "regenerate it with:\n\t" + readmeUpdateEnv +
	"=1 go test ./internal/config -run TestREADMEConfigReferenceIsCurrent\n(from the repository root; then review and commit README.md)"

// readmeSection splits the README around the text between the markers.
// problem says what is wrong unless each marker appears exactly once and in
// order.
func readmeSection(readme string) (before, section, after, problem string) {
	if n := strings.Count(readme, readmeStartMarker); n != 1 {
		return "", "", "", "README.md must contain the line " + readmeStartMarker + " exactly once"
	}
	if n := strings.Count(readme, readmeEndMarker); n != 1 {
		return "", "", "", "README.md must contain the line " + readmeEndMarker + " exactly once"
	}
	start := strings.Index(readme, readmeStartMarker) + len(readmeStartMarker)
	end := strings.Index(readme, readmeEndMarker)
	if end < start {
		return "", "", "", readmeEndMarker + " comes before " + readmeStartMarker + " in README.md"
	}
	return readme[:start], readme[start:end], readme[end:], ""
}

// TestREADMEConfigReferenceIsCurrent fails when the configuration table in
// README.md no longer matches the settings table in this package.
func TestREADMEConfigReferenceIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("reading %s: %v", readmePath, err)
	}
	readme := string(raw)
	before, section, after, problem := readmeSection(readme)
	if problem != "" {
		t.Fatal(problem)
	}
	want := MarkdownReference()

	if os.Getenv(readmeUpdateEnv) == "1" {
		// Blank lines around the table keep Markdown renderers from
		// reading the comment and the table as one HTML block.
		updated := before + "\n\n" + want + "\n" + after
		if updated != readme {
			if err := os.WriteFile(readmePath, []byte(updated), 0o644); err != nil { // #nosec G306 -- a public document
				t.Fatalf("writing %s: %v", readmePath, err)
			}
			t.Logf("updated the configuration reference in %s", readmePath)
		}
		return
	}

	got := strings.TrimSpace(section)
	if got == strings.TrimSpace(want) {
		return
	}
	gotLines := strings.Split(got, "\n")
	wantLines := strings.Split(strings.TrimSpace(want), "\n")
	for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("README.md's configuration reference (between %s and %s) is out of date with config.Settings().\n"+
				"first difference, line %d of the section:\n  README: %q\n  code:   %q\n%s",
				readmeStartMarker, readmeEndMarker, i+1, g, w, readmeRegenerate)
		}
	}
}

func TestREADMESectionNeedsBothMarkersOnceInOrder(t *testing.T) {
	cases := []struct {
		name, readme string
		ok           bool
	}{
		{"both markers in order", "a\n" + readmeStartMarker + "\nx\n" + readmeEndMarker + "\nb", true},
		{"no markers", "a\nb", false},
		{"only the start marker", readmeStartMarker + "\nx", false},
		{"markers reversed", readmeEndMarker + "\nx\n" + readmeStartMarker, false},
		{"start marker twice", readmeStartMarker + readmeStartMarker + readmeEndMarker, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, section, _, problem := readmeSection(c.readme)
			if (problem == "") != c.ok {
				t.Fatalf("problem = %q, want ok=%v", problem, c.ok)
			}
			if c.ok && strings.TrimSpace(section) != "x" {
				t.Fatalf("section = %q, want x", section)
			}
		})
	}
}
