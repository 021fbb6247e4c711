package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// The values of SMTPConfig.TLSMode.
const (
	// TLSModeStartTLS (the default) upgrades with STARTTLS when the server
	// offers it, and requires it when credentials are set.
	TLSModeStartTLS = "starttls"
	// TLSModeImplicit speaks TLS from the first byte (submissions, port 465).
	TLSModeImplicit = "tls"
	// TLSModeNone never encrypts; allowed only for a loopback host and
	// without credentials.
	TLSModeNone = "none"
)

// Defaults applied by NewSMTP to zero fields.
const (
	DefaultSMTPTimeout = 30 * time.Second // whole conversation, dial to QUIT
	defaultHelloName   = "localhost"
)

// ErrTLSRequired matches (errors.Is) the error returned when credentials are
// set but the server does not offer STARTTLS: the password is not sent.
var ErrTLSRequired = errors.New("mail: TLS is required to send SMTP credentials")

// msgNoStartTLS is the safe message of an ErrTLSRequired failure.
const msgNoStartTLS = "the SMTP server does not offer STARTTLS; refusing to send the SMTP password in clear text"

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	Host               string        // server host name or IP address; also the name its certificate must carry
	Port               int           // default 587 (starttls), 465 (tls) or 25 (none)
	Username, Password string        // both or neither; sent only over a verified TLS connection (AUTH PLAIN)
	From               string        // envelope sender and From header
	TLSMode            string        // TLSModeStartTLS (default when empty), TLSModeImplicit or TLSModeNone
	TLSConfig          *tls.Config   // optional, e.g. RootCAs for a private CA; copied, never modified
	Timeout            time.Duration // bound on one delivery when ctx has no earlier deadline; default DefaultSMTPTimeout
	HelloName          string        // name given in EHLO; default "localhost"
}

// String describes c without the password, so printing a config is safe.
func (c SMTPConfig) String() string {
	pw := "unset"
	if c.Password != "" {
		pw = "set"
	}
	return fmt.Sprintf("smtp{host=%s port=%d tls_mode=%s username=%q password=%s from=%q}",
		c.Host, c.Port, c.TLSMode, c.Username, pw, c.From)
}

// LogValue logs c without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("tls_mode", c.TLSMode),
		slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""),
		slog.String("from", c.From))
}

// SMTPSender delivers messages through an SMTP submission server, one
// connection per message. It is safe for concurrent use.
type SMTPSender struct {
	cfg  SMTPConfig // normalized: defaults applied
	addr string     // host:port
	from *netmail.Address
	tls  *tls.Config // ServerName set, at least TLS 1.2
	log  *slog.Logger
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTP checks cfg and returns a sender; log may be nil (nothing is
// logged). It does not connect. Errors: errs.Invalid listing every problem
// in cfg, each naming its option.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTPSender, error) {
	const op = "mail.NewSMTP"
	if cfg.TLSMode == "" {
		cfg.TLSMode = TLSModeStartTLS
	}
	if cfg.HelloName == "" {
		cfg.HelloName = defaultHelloName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.Port == 0 {
		switch cfg.TLSMode {
		case TLSModeImplicit:
			cfg.Port = 465
		case TLSModeNone:
			cfg.Port = 25
		default:
			cfg.Port = 587
		}
	}

	var p problems
	hostOK := validHost(cfg.Host)
	if !hostOK {
		p.addf("smtp.host: %q is not a host name or IP address", cfg.Host)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		p.addf("smtp.port: %d is not between 1 and 65535", cfg.Port)
	}
	hasCreds := cfg.Username != "" || cfg.Password != ""
	switch {
	case cfg.Username == "" && cfg.Password != "":
		p.addf("smtp.username: required when smtp.password is set")
	case cfg.Username != "" && cfg.Password == "":
		p.addf("smtp.password: required when smtp.username is set")
	}
	// AUTH PLAIN separates its fields with NUL; the password's value is
	// never quoted in a message.
	if strings.ContainsRune(cfg.Username, 0) || hasControl(cfg.Username) {
		p.addf("smtp.username: %q contains a control character", cfg.Username)
	}
	if strings.ContainsRune(cfg.Password, 0) {
		p.addf("smtp.password: contains a NUL character")
	}
	from := parseAddress(&p, "smtp.from", cfg.From)
	switch cfg.TLSMode {
	case TLSModeStartTLS, TLSModeImplicit:
	case TLSModeNone:
		if hostOK && !isLoopback(cfg.Host) {
			p.addf("smtp.tls_mode: %q is only allowed for a loopback host (localhost, 127.0.0.1, ::1), not %q", TLSModeNone, cfg.Host)
		}
		if hasCreds {
			p.addf("smtp.tls_mode: %q cannot be used with smtp.username/smtp.password: credentials are never sent in clear text", TLSModeNone)
		}
	default:
		p.addf("smtp.tls_mode: %q is not one of %q, %q, %q", cfg.TLSMode, TLSModeStartTLS, TLSModeImplicit, TLSModeNone)
	}
	if cfg.TLSConfig != nil && cfg.TLSConfig.InsecureSkipVerify {
		p.addf("smtp.tls_config: InsecureSkipVerify is not allowed; add the server's CA to RootCAs instead")
	}
	if cfg.Timeout < 0 {
		p.addf("smtp.timeout: %s is negative", cfg.Timeout)
	}
	if cfg.HelloName != "" && (len(cfg.HelloName) > 255 || strings.IndexFunc(cfg.HelloName, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0) {
		p.addf("smtp.hello_name: %q must be ASCII without spaces or control characters, at most 255 bytes", cfg.HelloName)
	}
	if err := p.err(op); err != nil {
		return nil, err
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
		if tlsConfig.MinVersion < tls.VersionTLS12 {
			tlsConfig.MinVersion = tls.VersionTLS12
		}
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SMTPSender{
		cfg:  cfg,
		addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		from: from,
		tls:  tlsConfig,
		log:  log,
	}, nil
}

// validHost accepts an IP address or a DNS name (letters, digits, '-', '.',
// '_'), so the host cannot smuggle a port, a path or a line break.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m, then logs the recipient, kind, subject and server, never
// the body, the link or the password. The conversation ends when ctx ends or
// after the configured timeout, whichever is first.
// Errors: errs.Invalid when m breaks a rule (nothing is sent);
// errs.Unavailable when delivery fails, with ErrTLSRequired in the chain when
// credentials are set and the server offers no STARTTLS, and ctx.Err() when
// ctx or the timeout ended the conversation.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	const op = "mail.SMTPSender.Send"
	to, err := checkMessage(op, m)
	if err != nil {
		return err
	}
	raw := compose(s.from, to, m, time.Now())
	if err := s.deliver(ctx, op, to.Address, raw); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "mail sent via SMTP",
		slog.String("to", to.Address),
		slog.String("kind", m.Kind),
		slog.String("subject", m.Subject),
		slog.String("smtp_server", s.addr))
	return nil
}

// deliver runs one SMTP conversation for one recipient.
func (s *SMTPSender) deliver(parent context.Context, op, rcpt string, raw []byte) error {
	if err := parent.Err(); err != nil {
		return errs.E(op, errs.Unavailable, "mail not sent: the request ended", err)
	}
	ctx, cancel := context.WithTimeout(parent, s.cfg.Timeout)
	defer cancel()
	fail := func(msg string, err error) error {
		// When ctx ended the conversation, the I/O error is only a symptom:
		// keep ctx.Err() in the chain so callers can tell a timeout.
		// The connection's only deadline is ctx's, so a timeout on it means
		// ctx's deadline has passed even if ctx's own timer has not yet
		// fired.
		cerr := ctx.Err()
		if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return errs.E(op, errs.Unavailable, msg, err)
	}

	conn, err := s.dial(ctx)
	if err != nil {
		return fail("cannot connect to the SMTP server", err)
	}
	defer func() { _ = conn.Close() }()
	// The deadline bounds every read and write, the greeting included; the
	// AfterFunc ends a blocked read at once when ctx is cancelled early.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fail("cannot connect to the SMTP server", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fail("the SMTP server did not greet", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return fail("the SMTP server refused EHLO", err)
	}
	if s.cfg.TLSMode == TLSModeStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			// A certificate that does not verify ends the conversation:
			// there is no fallback to clear text after a failed upgrade.
			if err := c.StartTLS(s.tls); err != nil {
				return fail("STARTTLS with the SMTP server failed", err)
			}
		} else if s.cfg.Username != "" {
			_ = c.Quit()
			return errs.E(op, errs.Unavailable, msgNoStartTLS, ErrTLSRequired)
		}
	}
	if s.cfg.Username != "" {
		// Checked again here, whatever the mode: AUTH goes only over TLS.
		// (net/smtp's PlainAuth would allow clear text to a host named
		// "localhost"; we do not.)
		if _, isTLS := c.TLSConnectionState(); !isTLS {
			_ = c.Quit()
			return errs.E(op, errs.Unavailable, msgNoStartTLS, ErrTLSRequired)
		}
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasWord(mechs, "PLAIN") {
			_ = c.Quit()
			return errs.E(op, errs.Unavailable, "the SMTP server does not offer AUTH PLAIN")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fail("SMTP authentication failed", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fail("the SMTP server refused the sender", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fail("the SMTP server refused the recipient", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("the SMTP server refused the message", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fail("sending the message to the SMTP server failed", err)
	}
	if err := w.Close(); err != nil {
		return fail("the SMTP server refused the message", err)
	}
	// The server has accepted the message; a failed QUIT must not make the
	// caller retry and send it twice.
	_ = c.Quit()
	return nil
}

// dial connects to the server, with TLS from the first byte in implicit mode.
func (s *SMTPSender) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.TLSMode == TLSModeImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tls}
		return td.DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// hasWord reports whether the space-separated list holds w (case-insensitive).
func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}
