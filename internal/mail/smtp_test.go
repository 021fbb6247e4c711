package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/mail"
)

// wireSecrets are the forms a password or token takes on the wire in clear
// text: as typed, and inside an AUTH PLAIN response.
func wireSecrets() []string {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	return []string{testPassword, plain, testToken}
}

func smtpConfig(ts *testServer, mode string, withCreds bool) mail.SMTPConfig {
	cfg := mail.SMTPConfig{
		Host:      ts.host,
		Port:      ts.port,
		From:      testFrom,
		TLSMode:   mode,
		TLSConfig: &tls.Config{RootCAs: ts.roots, MinVersion: tls.VersionTLS12},
		Timeout:   10 * time.Second,
		HelloName: "rampart.test",
	}
	if withCreds {
		cfg.Username, cfg.Password = testUser, testPassword
	}
	return cfg
}

func newSMTP(t *testing.T, cfg mail.SMTPConfig, log *slog.Logger) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTP(cfg, log)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTPDeliversOverSTARTTLSAndAuthenticatesOnlyAfterTheUpgrade(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{startTLS: true, requireAuth: true})
	log, logBuf := newLogger(t)
	s := newSMTP(t, smtpConfig(ts, "", true), log) // "" = the default, starttls

	if err := s.Send(context.Background(), resetMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}

	msgs := ts.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.tls {
		t.Error("the message arrived over a connection without TLS: STARTTLS was not used")
	}
	if got.user != testUser {
		t.Errorf("message sent as user %q, want %q", got.user, testUser)
	}
	if got.from != "no-reply@rampart.example" || len(got.to) != 1 || got.to[0] != "alice@example.com" {
		t.Errorf("envelope = MAIL FROM %q RCPT TO %q", got.from, got.to)
	}
	checkResetMail(t, parseMail(t, got.data), `"Rampart" <no-reply@rampart.example>`)

	auths := ts.authAttempts()
	if len(auths) != 1 || !auths[0].tls || auths[0].user != testUser || auths[0].password != testPassword {
		t.Errorf("AUTH attempts = %+v, want one, over TLS, with the configured credentials", auths)
	}
	// The wire saw only ciphertext after STARTTLS.
	wire := ts.wireBytes()
	if !bytes.Contains(wire, []byte("STARTTLS")) {
		t.Errorf("STARTTLS was never sent; wire: %q", wire)
	}
	assertNoSecrets(t, "the clear-text wire", string(wire), wireSecrets()...)

	logText := logBuf.String()
	if !strings.Contains(logText, `"msg":"mail sent via SMTP"`) || !strings.Contains(logText, `"to":"alice@example.com"`) {
		t.Errorf("log lacks the delivery record: %s", logText)
	}
	assertNoSecrets(t, "the log", logText, testPassword, testToken, testSecretURL, "Open this link")
}

func TestSMTPDeliversOverImplicitTLS(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{implicitTLS: true, requireAuth: true})
	s := newSMTP(t, smtpConfig(ts, mail.TLSModeImplicit, true), nil)
	if err := s.Send(context.Background(), resetMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 || !msgs[0].tls || msgs[0].user != testUser {
		t.Fatalf("messages = %+v, want one over TLS as %q", msgs, testUser)
	}
	if wire := ts.wireBytes(); bytes.Contains(wire, []byte("EHLO")) {
		t.Errorf("SMTP commands crossed the wire in clear text: %q", wire)
	}
}

func TestSMTPRefusesToSendCredentialsToAServerWithoutSTARTTLS(t *testing.T) {
	// The server offers AUTH PLAIN in clear text, and would accept it: the
	// client must not take the bait (this is also what a STARTTLS-stripping
	// attacker in the middle looks like).
	ts := startSMTPServer(t, serverOptions{allowInsecureAuth: true})
	log, logBuf := newLogger(t)
	s := newSMTP(t, smtpConfig(ts, mail.TLSModeStartTLS, true), log)

	err := s.Send(context.Background(), resetMessage())
	if !errors.Is(err, mail.ErrTLSRequired) || errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("err = %v, want errs.Unavailable matching ErrTLSRequired", err)
	}
	if got, want := errs.SafeMessage(err), "the SMTP server does not offer STARTTLS; refusing to send the SMTP password in clear text"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if auths := ts.authAttempts(); len(auths) != 0 {
		t.Errorf("the server saw AUTH attempts: %+v", auths)
	}
	if msgs := ts.messages(); len(msgs) != 0 {
		t.Errorf("the server received %d messages", len(msgs))
	}
	wire := ts.wireBytes()
	if !bytes.Contains(wire, []byte("EHLO rampart.test")) {
		t.Errorf("the client never spoke to the server; wire: %q", wire)
	}
	if bytes.Contains(wire, []byte("AUTH")) {
		t.Errorf("the client sent AUTH in clear text; wire: %q", wire)
	}
	assertNoSecrets(t, "the clear-text wire", string(wire), wireSecrets()...)
	assertNoSecrets(t, "the error", err.Error(), testPassword, testToken)
	assertNoSecrets(t, "the log", logBuf.String(), testPassword, testToken)
}

func TestSMTPWithoutCredentialsSendsInClearTextOnlyWhenSTARTTLSIsNotOffered(t *testing.T) {
	// Opportunistic STARTTLS (the default): without credentials there is no
	// password to protect, and a relay without TLS still gets the mail.
	ts := startSMTPServer(t, serverOptions{})
	s := newSMTP(t, smtpConfig(ts, mail.TLSModeStartTLS, false), nil)
	if err := s.Send(context.Background(), resetMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if msgs := ts.messages(); len(msgs) != 1 || msgs[0].tls {
		t.Fatalf("messages = %+v, want one, without TLS", msgs)
	}

	// When it is offered, it is used.
	tlsTS := startSMTPServer(t, serverOptions{startTLS: true})
	s = newSMTP(t, smtpConfig(tlsTS, mail.TLSModeStartTLS, false), nil)
	if err := s.Send(context.Background(), resetMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if msgs := tlsTS.messages(); len(msgs) != 1 || !msgs[0].tls {
		t.Fatalf("messages = %+v, want one, over TLS", msgs)
	}
}

func TestSMTPModeNoneDeliversToALoopbackRelay(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{startTLS: true})
	s := newSMTP(t, smtpConfig(ts, mail.TLSModeNone, false), nil)
	if err := s.Send(context.Background(), resetMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if msgs := ts.messages(); len(msgs) != 1 || msgs[0].tls {
		t.Fatalf("messages = %+v, want one, without TLS", msgs)
	}
}

func TestSMTPDoesNotFallBackToClearTextWhenTheCertificateIsUntrusted(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{startTLS: true, allowInsecureAuth: true})
	cfg := smtpConfig(ts, mail.TLSModeStartTLS, true)
	cfg.TLSConfig = nil // system roots: the self-signed certificate does not verify
	s := newSMTP(t, cfg, nil)

	err := s.Send(context.Background(), resetMessage())
	if errs.KindOf(err) != errs.Unavailable || errs.SafeMessage(err) != "STARTTLS with the SMTP server failed" {
		t.Fatalf("err = %v, want errs.Unavailable: STARTTLS with the SMTP server failed", err)
	}
	if len(ts.authAttempts()) != 0 || len(ts.messages()) != 0 {
		t.Errorf("server saw auth %+v / messages %d after a failed handshake", ts.authAttempts(), len(ts.messages()))
	}
	assertNoSecrets(t, "the clear-text wire", string(ts.wireBytes()), wireSecrets()...)
}

func TestSMTPWrongPasswordIsReportedWithoutEchoingIt(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{startTLS: true, requireAuth: true})
	cfg := smtpConfig(ts, mail.TLSModeStartTLS, true)
	cfg.Password = "wrong-" + testPassword
	s := newSMTP(t, cfg, nil)

	err := s.Send(context.Background(), resetMessage())
	if errs.KindOf(err) != errs.Unavailable || errs.SafeMessage(err) != "SMTP authentication failed" {
		t.Fatalf("err = %v, want errs.Unavailable: SMTP authentication failed", err)
	}
	assertNoSecrets(t, "the error", err.Error(), cfg.Password, testToken)
	if len(ts.messages()) != 0 {
		t.Error("a message was delivered after failed authentication")
	}
}

func TestSMTPHeaderInjectionIsRefusedBeforeConnecting(t *testing.T) {
	ts := startSMTPServer(t, serverOptions{startTLS: true, requireAuth: true})
	s := newSMTP(t, smtpConfig(ts, mail.TLSModeStartTLS, true), nil)
	tests := []struct {
		name string
		edit func(*mail.Message)
	}{
		{"a Bcc smuggled into the recipient", func(m *mail.Message) { m.To = "alice@example.com\r\nBcc: mallory@evil.example" }},
		{"a Bcc smuggled into the subject", func(m *mail.Message) { m.Subject = "Reset\r\nBcc: mallory@evil.example" }},
		{"a body smuggled into the subject with a bare LF", func(m *mail.Message) { m.Subject = "Reset\n\nclick evil.example" }},
		{"an SMTP command smuggled into the recipient", func(m *mail.Message) { m.To = "alice@example.com>\r\nRCPT TO:<mallory@evil.example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := resetMessage()
			tt.edit(&m)
			if err := s.Send(context.Background(), m); errs.KindOf(err) != errs.Invalid {
				t.Fatalf("err = %v, want errs.Invalid", err)
			}
		})
	}
	if n := ts.connections(); n != 0 {
		t.Errorf("the sender connected %d times for refused messages", n)
	}

	// A From with a line break is refused when the sender is built.
	cfg := smtpConfig(ts, mail.TLSModeStartTLS, false)
	cfg.From = "no-reply@rampart.example\r\nBcc: mallory@evil.example"
	if _, err := mail.NewSMTP(cfg, nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("NewSMTP with CRLF in From: err = %v, want errs.Invalid", err)
	}
}

func TestSMTPStallingServerIsAbandonedPromptly(t *testing.T) {
	host, port := stallingServer(t)
	cfg := mail.SMTPConfig{Host: host, Port: port, From: testFrom, TLSMode: mail.TLSModeStartTLS, Timeout: time.Minute}

	t.Run("when the context deadline passes", func(t *testing.T) {
		s := newSMTP(t, cfg, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		checkAbandoned(t, s, ctx, context.DeadlineExceeded)
	})
	t.Run("when the context is cancelled", func(t *testing.T) {
		s := newSMTP(t, cfg, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		checkAbandoned(t, s, ctx, context.Canceled)
	})
	t.Run("when the configured timeout passes", func(t *testing.T) {
		short := cfg
		short.Timeout = 200 * time.Millisecond
		s := newSMTP(t, short, nil)
		checkAbandoned(t, s, context.Background(), context.DeadlineExceeded)
	})
	t.Run("when the server stalls in the TLS handshake", func(t *testing.T) {
		implicit := cfg
		implicit.TLSMode = mail.TLSModeImplicit
		s := newSMTP(t, implicit, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		checkAbandoned(t, s, ctx, context.DeadlineExceeded)
	})
}

func checkAbandoned(t *testing.T, s *mail.SMTPSender, ctx context.Context, want error) {
	t.Helper()
	start := time.Now()
	err := s.Send(ctx, resetMessage())
	elapsed := time.Since(start)
	if elapsed > 2*time.Second {
		t.Errorf("Send returned after %v, want about 200ms", elapsed)
	}
	if !errors.Is(err, want) || errs.KindOf(err) != errs.Unavailable {
		t.Errorf("err = %v, want errs.Unavailable wrapping %v", err, want)
	}
}

func TestNewSMTPReportsEveryConfigProblemAtOnce(t *testing.T) {
	_, err := mail.NewSMTP(mail.SMTPConfig{
		Host:      "smtp.example.com:25",
		Port:      70000,
		Password:  "hunter2-not-to-be-echoed",
		From:      "nobody",
		TLSMode:   "ssl",
		TLSConfig: &tls.Config{InsecureSkipVerify: true}, // #nosec G402 -- the test checks that this is refused
		Timeout:   -time.Second,
		HelloName: "bad name",
	}, nil)
	want := `smtp.host: "smtp.example.com:25" is not a host name or IP address; ` +
		`smtp.port: 70000 is not between 1 and 65535; ` +
		`smtp.username: required when smtp.password is set; ` +
		`smtp.from: "nobody" is not an e-mail address (like user@example.com); ` +
		`smtp.tls_mode: "ssl" is not one of "starttls", "tls", "none"; ` +
		`smtp.tls_config: InsecureSkipVerify is not allowed; add the server's CA to RootCAs instead; ` +
		`smtp.timeout: -1s is negative; ` +
		`smtp.hello_name: "bad name" must be ASCII without spaces or control characters, at most 255 bytes`
	if errs.KindOf(err) != errs.Invalid || errs.SafeMessage(err) != want {
		t.Fatalf("err = %v\nwant errs.Invalid: %s", err, want)
	}
	assertNoSecrets(t, "the error", err.Error(), "hunter2-not-to-be-echoed")
}

func TestNewSMTPRules(t *testing.T) {
	base := mail.SMTPConfig{Host: "smtp.example.com", From: testFrom}
	tests := []struct {
		name string
		edit func(*mail.SMTPConfig)
		want string // "" = accepted
	}{
		{"a host and a sender are enough", func(*mail.SMTPConfig) {}, ""},
		{"implicit TLS with credentials is accepted", func(c *mail.SMTPConfig) {
			c.TLSMode, c.Username, c.Password = mail.TLSModeImplicit, "u", "p"
		}, ""},
		{"clear text to localhost is accepted", func(c *mail.SMTPConfig) { c.Host, c.TLSMode = "localhost", mail.TLSModeNone }, ""},
		{"clear text to ::1 is accepted", func(c *mail.SMTPConfig) { c.Host, c.TLSMode = "::1", mail.TLSModeNone }, ""},
		{"a missing host is refused", func(c *mail.SMTPConfig) { c.Host = "" }, `smtp.host: "" is not a host name or IP address`},
		{"a username without a password is refused", func(c *mail.SMTPConfig) { c.Username = "u" },
			"smtp.password: required when smtp.username is set"},
		{"clear text to a remote host is refused", func(c *mail.SMTPConfig) { c.TLSMode = mail.TLSModeNone },
			`smtp.tls_mode: "none" is only allowed for a loopback host (localhost, 127.0.0.1, ::1), not "smtp.example.com"`},
		{"clear text with credentials is refused, even to localhost", func(c *mail.SMTPConfig) {
			c.Host, c.TLSMode, c.Username, c.Password = "127.0.0.1", mail.TLSModeNone, "u", "p"
		}, `smtp.tls_mode: "none" cannot be used with smtp.username/smtp.password: credentials are never sent in clear text`},
		{"a password with NUL is refused without echoing it", func(c *mail.SMTPConfig) { c.Username, c.Password = "u", "p\x00q" },
			"smtp.password: contains a NUL character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			_, err := mail.NewSMTP(cfg, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewSMTP: %v", err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid || errs.SafeMessage(err) != tt.want {
				t.Fatalf("err = %v, want errs.Invalid %q", err, tt.want)
			}
		})
	}
}

func TestSMTPConfigPrintsAndLogsWithoutThePassword(t *testing.T) {
	cfg := mail.SMTPConfig{Host: "smtp.example.com", Port: 587, Username: "u", Password: "hunter2-secret", From: testFrom}
	log, logBuf := newLogger(t)
	log.Info("smtp configured", "smtp_settings", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %s", cfg, cfg, &cfg), logBuf.String()} {
		assertNoSecrets(t, "the rendering", s, "hunter2-secret")
		if !strings.Contains(s, "smtp.example.com") {
			t.Errorf("rendering lacks the host: %s", s)
		}
	}
}
