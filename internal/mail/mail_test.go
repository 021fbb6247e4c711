package mail_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/logx"
	"github.com/rampart-platform/rampart/internal/mail"
)

// The token sits in a path segment, a shape logx's redactor does not know:
// if it stays out of the log, it is because the senders never log it, not
// because the redactor caught it.
const (
	testToken     = "Vq7kT2mXw9LpR4sZ8bN3cY6hJ1dF5gQeUa0WxR"
	testSecretURL = "https://rampart.example/reset/" + testToken
	testFrom      = "Rampart <no-reply@rampart.example>"
	testText      = "Someone asked to reset the password of your Rampart account.\nOpen this link within 30 minutes:"
)

func resetMessage() mail.Message {
	return mail.Message{
		To:        "Alice Liddell <alice@example.com>",
		Subject:   "Reset your Rampart password",
		Text:      testText,
		Kind:      "password_reset",
		SecretURL: testSecretURL,
	}
}

// syncBuffer is a log destination that is safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns Rampart's redacting JSON logger writing to a buffer.
func newLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	if got := logx.RedactString(testSecretURL); got != testSecretURL {
		t.Fatalf("test setup: logx redacts the test URL (%q); pick a token it does not recognise", got)
	}
	buf := &syncBuffer{}
	return logx.New(buf, logx.Options{Format: "json", Level: slog.LevelDebug}), buf
}

// assertNoSecrets fails when any secret appears in text.
func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", what, s, text)
		}
	}
}

// parsed is a received or written mail, read back with net/mail.
type parsed struct {
	header netmail.Header
	body   string // quoted-printable decoded
}

func parseMail(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes, over RFC 5322's 998", i, len(line))
		}
		for _, c := range line {
			if c == '\r' || c == '\n' || c >= 0x80 {
				t.Errorf("line %d holds a bare CR/LF or 8-bit byte: %q", i, line)
				break
			}
		}
	}
	return parsed{header: msg.Header, body: string(body)}
}

// checkResetMail asserts the headers and body of resetMessage() as sent.
func checkResetMail(t *testing.T, p parsed, from string) {
	t.Helper()
	want := map[string]string{
		"From":                      from,
		"To":                        `"Alice Liddell" <alice@example.com>`,
		"Subject":                   "Reset your Rampart password",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
	}
	for k, v := range want {
		if got := p.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := p.header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@rampart.example>") {
		t.Errorf("Message-ID = %q, want <...@rampart.example>", id)
	}
	wantBody := strings.ReplaceAll(testText, "\n", "\r\n") + "\r\n\r\n" + testSecretURL + "\r\n"
	if p.body != wantBody {
		t.Errorf("body = %q, want %q", p.body, wantBody)
	}
}

func TestMessageBreakingRulesIsRefusedWithEveryProblemListed(t *testing.T) {
	o, err := mail.NewOutbox(t.TempDir(), testFrom, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = o.Send(context.Background(), mail.Message{
		To:        "alice@example.com\r\nBcc: mallory@evil.example",
		Subject:   "Hello\nBcc: mallory@evil.example",
		Kind:      "../../etc/passwd",
		Text:      "ok",
		SecretURL: "/relative/" + testToken,
	})
	if errs.KindOf(err) != errs.Invalid {
		t.Fatalf("err = %v, want an errs.Invalid", err)
	}
	want := `to: "alice@example.com\r\nBcc: mallory@evil.example" contains a control character (CR, LF, ...); ` +
		`subject: "Hello\nBcc: mallory@evil.example" contains a control character (CR, LF, ...); ` +
		`kind: "../../etc/passwd" must be 1 to 32 characters a-z, 0-9 or _; ` +
		`secret_url: not an absolute URL`
	if got := errs.SafeMessage(err); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
	assertNoSecrets(t, "the error", err.Error(), testToken)
}

func TestMessageRules(t *testing.T) {
	o, err := mail.NewOutbox(t.TempDir(), testFrom, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*mail.Message)
		want string // "" = accepted
	}{
		{"a plain message is accepted", func(*mail.Message) {}, ""},
		{"a message without a link is accepted", func(m *mail.Message) { m.SecretURL = "" }, ""},
		{"a non-ASCII subject is accepted", func(m *mail.Message) { m.Subject = "Réinitialisez votre mot de passe" }, ""},
		{"a bare address is accepted", func(m *mail.Message) { m.To = "alice@example.com" }, ""},
		{"a missing recipient is refused", func(m *mail.Message) { m.To = "" }, "to: required"},
		{"a recipient that is not an address is refused", func(m *mail.Message) { m.To = "alice" },
			`to: "alice" is not an e-mail address (like user@example.com)`},
		{"two recipients are refused", func(m *mail.Message) { m.To = "a@example.com, b@example.com" },
			`to: "a@example.com, b@example.com" is not an e-mail address (like user@example.com)`},
		{"a recipient folded over two lines is refused", func(m *mail.Message) { m.To = "alice@example.com\r\n x" },
			`to: "alice@example.com\r\n x" contains a control character (CR, LF, ...)`},
		{"a non-ASCII address is refused", func(m *mail.Message) { m.To = "alice@exämple.com" },
			`to: "alice@exämple.com" has non-ASCII characters in the address itself`},
		{"a missing subject is refused", func(m *mail.Message) { m.Subject = "" }, "subject: required"},
		{"a subject with a bare CR is refused", func(m *mail.Message) { m.Subject = "a\rb" },
			`subject: "a\rb" contains a control character (CR, LF, ...)`},
		{"a subject with a Unicode line separator is refused", func(m *mail.Message) { m.Subject = "a\u2028b" },
			`subject: "a\u2028b" contains a control character (CR, LF, ...)`},
		{"an overlong subject is refused", func(m *mail.Message) { m.Subject = strings.Repeat("x", 201) },
			"subject: longer than 200 bytes"},
		{"an empty kind is refused", func(m *mail.Message) { m.Kind = "" },
			`kind: "" must be 1 to 32 characters a-z, 0-9 or _`},
		{"a kind with a dash is refused", func(m *mail.Message) { m.Kind = "pass-reset" },
			`kind: "pass-reset" must be 1 to 32 characters a-z, 0-9 or _`},
		{"a body with NUL is refused", func(m *mail.Message) { m.Text = "a\x00b" }, "text: contains a NUL character"},
		{"a body of invalid UTF-8 is refused", func(m *mail.Message) { m.Text = "a\xffb" }, "text: not valid UTF-8"},
		{"a link with a line break is refused without quoting it", func(m *mail.Message) { m.SecretURL = testSecretURL + "\r\nX: y" },
			"secret_url: contains white space or a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := resetMessage()
			tt.edit(&m)
			err := o.Send(context.Background(), m)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid || errs.SafeMessage(err) != tt.want {
				t.Fatalf("err = %v (kind %v), want errs.Invalid %q", err, errs.KindOf(err), tt.want)
			}
			assertNoSecrets(t, "the error", err.Error(), testToken)
		})
	}
}

func TestNonASCIISubjectIsEncodedAndDecodesBack(t *testing.T) {
	dir := t.TempDir()
	o, err := mail.NewOutbox(dir, testFrom, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := resetMessage()
	m.Subject = "Réinitialisez votre mot de passe — ünïcödé ✓"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, readOnlyFile(t, dir))
	got, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil || got != m.Subject {
		t.Errorf("decoded Subject = %q, %v; want %q", got, err, m.Subject)
	}
}

func TestLinkAlreadyInTextIsNotRepeated(t *testing.T) {
	dir := t.TempDir()
	o, err := mail.NewOutbox(dir, testFrom, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := resetMessage()
	m.Text = "Open " + testSecretURL + " within 30 minutes.\n"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, readOnlyFile(t, dir))
	if want := "Open " + testSecretURL + " within 30 minutes.\r\n"; p.body != want {
		t.Errorf("body = %q, want %q", p.body, want)
	}
}

// FuzzMessageRoundTrip: whatever the subject and text, a message that is
// accepted reads back with net/mail to exactly one header block with the
// expected fields (no injected header), the same subject and the same text.
func FuzzMessageRoundTrip(f *testing.F) {
	f.Add("Reset your password", "Hello\nworld", "alice@example.com")
	f.Add("Subject\r\nBcc: x@y.z", "body\r\n.\r\nMAIL FROM:<x@y.z>", "a@b.c\r\nBcc: x@y.z")
	f.Add("=?utf-8?q?x?= Ünïcødé", "\r\r\n\n.\n..", `"Bob \"B\"" <bob@example.com>`)
	f.Add(strings.Repeat("é", 100), strings.Repeat("x", 200)+" \t\n", "x@[127.0.0.1]")
	f.Fuzz(func(t *testing.T, subject, text, to string) {
		m := mail.Message{To: to, Subject: subject, Text: text, Kind: "fuzz"}
		raw, err := mail.Render(testFrom, m, time.Unix(1700000000, 0))
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("non-Invalid error: %v", err)
			}
			return
		}
		p := parseMail(t, raw)
		wantKeys := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if len(p.header) != len(wantKeys) {
			t.Fatalf("headers = %v, want exactly %v", p.header, wantKeys)
		}
		for _, k := range wantKeys {
			if len(p.header[k]) != 1 {
				t.Fatalf("header %s appears %d times", k, len(p.header[k]))
			}
		}
		if !strings.Contains(subject, "=?") { // ASCII text that looks like an encoded word is read as one
			got, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
			// net/textproto trims the white space around a header value.
			if err != nil || got != strings.TrimSpace(subject) {
				t.Fatalf("subject = %q, %v; want %q", got, err, subject)
			}
		}
		if _, err := netmail.ParseAddress(p.header.Get("To")); err != nil {
			t.Fatalf("To %q does not parse: %v", p.header.Get("To"), err)
		}
		// Line breaks of any style come back as CRLF, and the message ends
		// with one.
		want := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
		want = strings.ReplaceAll(want, "\n", "\r\n")
		if !strings.HasSuffix(want, "\r\n") {
			want += "\r\n"
		}
		if p.body != want {
			t.Fatalf("body = %q, want %q", p.body, want)
		}
	})
}

// readOnlyFile returns the content of the one file in dir.
func readOnlyFile(t *testing.T, dir string) []byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("outbox holds %d entries, want 1: %v", len(entries), entries)
	}
	data, err := os.ReadFile(dir + "/" + entries[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}
