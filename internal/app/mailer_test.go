package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/mail"
)

func TestNewMailerChoosesTheOutboxOrSMTPAndReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		adjust func(c *config.Config)
		want   string // the error message; "" means success
	}{
		{"no host means the outbox", func(c *config.Config) {}, ""},
		{"a host means SMTP", func(c *config.Config) { c.SMTP.Host = "smtp.example.com" }, ""},
		{"a login needs both halves, and none is sent in clear text to a remote host", func(c *config.Config) {
			c.SMTP.Host, c.SMTP.TLSMode, c.SMTP.Username = "smtp.example.com", "none", "rampart"
		}, "invalid configuration (3 problems):\n" +
			"smtp.username (RAMPART_SMTP_USERNAME) and smtp.password (RAMPART_SMTP_PASSWORD) must be set together, or neither\n" +
			`smtp.tls_mode (RAMPART_SMTP_TLS_MODE): "none" is only allowed with a loopback smtp.host (localhost, 127.0.0.1, ::1), not "smtp.example.com"` + "\n" +
			`smtp.tls_mode (RAMPART_SMTP_TLS_MODE): "none" cannot be combined with a login (smtp.username, smtp.password), which is never sent in clear text`},
		{"clear text to a loopback relay without a login is allowed", func(c *config.Config) {
			c.SMTP.Host, c.SMTP.TLSMode, c.SMTP.Port = "127.0.0.1", "none", 25
		}, ""},
		{"a CA file that does not exist", func(c *config.Config) {
			c.SMTP.Host, c.SMTP.CAFile = "smtp.example.com", filepath.Join(dir, "missing.pem")
		}, "smtp.ca_file (RAMPART_SMTP_CA_FILE): cannot read " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{"a CA file without a certificate", func(c *config.Config) {
			c.SMTP.Host, c.SMTP.CAFile = "smtp.example.com", notPEM
		}, "smtp.ca_file (RAMPART_SMTP_CA_FILE): " + notPEM + " holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			tt.adjust(&cfg)
			s, err := newMailer(cfg, nil, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				_, outbox := s.(*mail.OutboxSender)
				if outbox != (cfg.SMTP.Host == "") {
					t.Fatalf("sender %T for smtp.host %q", s, cfg.SMTP.Host)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid || errs.SafeMessage(err) != tt.want {
				t.Fatalf("got %v (%q)\nwant %q", errs.KindOf(err), errs.SafeMessage(err), tt.want)
			}
		})
	}
}
