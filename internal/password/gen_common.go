//go:build ignore

// gen_common writes common-10k.txt: the 10,000 most common passwords, one per
// line, lower-cased and deduplicated, in descending order of frequency.
//
// Source: data/passwords.txt of the Go module github.com/trustelem/zxcvbn
// v1.0.1 (MIT), a port of Dropbox's zxcvbn whose file it carries unchanged:
// "<password> <count>" lines sorted by count, counted by zxcvbn's
// count_xato script over Mark Burnett's public-domain "10 million
// passwords" set. We keep the first column of the first 10,000 distinct
// lines. See COMMON-PASSWORDS.md.
//
// The module is fetched through the Go module proxy and checked against the
// checksum database by the go command; it is NOT a dependency of Rampart
// (the download runs in a temporary directory, outside our go.mod). Run from
// this directory:
//
//	go run gen_common.go
//
// which is the same as:
//
//	dir=$(cd "$(mktemp -d)" && go mod download -json github.com/trustelem/zxcvbn@v1.0.1 | jq -r .Dir)
//	awk '{print tolower($1)}' "$dir/data/passwords.txt" | awk '!seen[$0]++' | head -n 10000 > common-10k.txt
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	module = "github.com/trustelem/zxcvbn@v1.0.1"
	want   = 10000
	out    = "common-10k.txt"
)

func main() {
	tmp, err := os.MkdirTemp("", "gen-common-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	// Run outside the main module so that go.mod and go.sum stay untouched.
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Stderr = os.Stderr
	js, err := cmd.Output()
	if err != nil {
		log.Fatalf("go mod download %s: %v", module, err)
	}
	var info struct{ Dir, Sum string }
	if err := json.Unmarshal(js, &info); err != nil {
		log.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(info.Dir, "data", "passwords.txt"))
	if err != nil {
		log.Fatal(err)
	}

	var buf bytes.Buffer
	seen := make(map[string]bool, want)
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() && len(seen) < want {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pw := strings.ToLower(fields[0])
		if seen[pw] {
			continue
		}
		seen[pw] = true
		buf.WriteString(pw)
		buf.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	if len(seen) != want {
		log.Fatalf("only %d distinct passwords in %s", len(seen), module)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d passwords from %s (%s) to %s\n", want, module, info.Sum, out)
}
