package mail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/mail"
)

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func fixedClock() time.Time { return fixedNow }

func TestOutboxWritesAPrivateParseableEMLAndLogsWithoutTheToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	log, logBuf := newLogger(t)
	o, err := mail.NewOutbox(dir, testFrom, log, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), resetMessage()); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("outbox directory mode = %o, want 700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("outbox holds %v, want one file (no temporary file left behind)", entries)
	}
	name := entries[0].Name()
	wantName := regexp.MustCompile(fmt.Sprintf(`^%d-password_reset-[0-9a-f]{16}\.eml$`, fixedNow.UnixNano()))
	if !wantName.MatchString(name) {
		t.Errorf("file name %q does not match %s", name, wantName)
	}
	assertNoSecrets(t, "the file name", name, testToken)
	path := filepath.Join(dir, name)
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mail file mode = %o, want 600", perm)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, raw)
	checkResetMail(t, p, `"Rampart" <no-reply@rampart.example>`)
	if date, err := p.header.Date(); err != nil || !date.Equal(fixedNow.Truncate(time.Second)) {
		t.Errorf("Date = %v, %v; want %v", date, err, fixedNow.Truncate(time.Second))
	}

	// The log tells a newcomer where the mail is, and nothing secret.
	logText := logBuf.String()
	var rec map[string]any
	if err := json.Unmarshal([]byte(logText), &rec); err != nil {
		t.Fatalf("want one JSON log record, got %q: %v", logText, err)
	}
	for k, v := range map[string]string{
		"msg":     "mail written to outbox",
		"to":      "alice@example.com",
		"kind":    "password_reset",
		"subject": "Reset your Rampart password",
		"path":    path,
	} {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %q", k, rec[k], v)
		}
	}
	assertNoSecrets(t, "the log", logText, testToken, testSecretURL, "Open this link")
}

func TestOutboxNarrowsAnExistingOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.NewOutbox(dir, testFrom, nil, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("outbox directory mode = %o, want 700", perm)
	}
}

func TestOutboxRefusesBadArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		dir, from string
		kind      errs.Kind
		want      string
	}{
		{"an empty directory and sender are both reported", "", "", errs.Invalid,
			"outbox directory: required; from: required"},
		{"a sender with a line break is refused", t.TempDir(), "a@example.com\nBcc: x@example.com", errs.Invalid,
			`from: "a@example.com\nBcc: x@example.com" contains a control character (CR, LF, ...)`},
		{"a directory that is a file is unavailable", file, testFrom, errs.Unavailable,
			"cannot prepare the mail outbox directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewOutbox(tt.dir, tt.from, nil, nil)
			if errs.KindOf(err) != tt.kind || errs.SafeMessage(err) != tt.want {
				t.Fatalf("err = %v (kind %v), want %v %q", err, errs.KindOf(err), tt.kind, tt.want)
			}
		})
	}
}

func TestOutboxWritesNothingWhenRefusing(t *testing.T) {
	dir := t.TempDir()
	log, logBuf := newLogger(t)
	o, err := mail.NewOutbox(dir, testFrom, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := resetMessage()
	bad.Kind = "../escape"
	if err := o.Send(context.Background(), bad); errs.KindOf(err) != errs.Invalid {
		t.Errorf("bad kind: err = %v, want errs.Invalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, resetMessage()); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("ended ctx: err = %v, want errs.Unavailable", err)
	}
	entries, _ := os.ReadDir(dir)
	parentEntries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 0 || len(parentEntries) != 1 {
		t.Errorf("files were written: outbox %v, parent %v", entries, parentEntries)
	}
	if logBuf.String() != "" {
		t.Errorf("refused sends were logged as written: %s", logBuf)
	}
}

func TestOutboxConcurrentSendsAtTheSameInstantGetDistinctFiles(t *testing.T) {
	dir := t.TempDir()
	o, err := mail.NewOutbox(dir, testFrom, nil, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := resetMessage()
			m.To = fmt.Sprintf("user%d@example.com", i)
			errc <- o.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d files, want %d", len(entries), n)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("unexpected file %q", e.Name())
		}
	}
}
