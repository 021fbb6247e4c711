package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Message is one transactional e-mail to a single recipient.
type Message struct {
	To      string // recipient, "user@example.com" or "Name <user@example.com>"
	Subject string // one line of text; RFC 2047-encoded on the wire when not ASCII
	Text    string // plain-text body, without the secret link
	Kind    string // what the mail is for, snake_case: "password_reset", "invite", ...

	// SecretURL is the link that carries a token. It goes into the body, after
	// Text on a line of its own (unless Text already contains it), and never
	// into a log line, an error message or a file name.
	SecretURL string
}

// Sender delivers messages.
type Sender interface {
	// Send delivers m or returns an error: errs.Invalid when m breaks a rule
	// (the message lists every rule it breaks), errs.Unavailable when the
	// mail cannot be written or delivered, including when ctx ends first.
	Send(ctx context.Context, m Message) error
}

// Limits that refuse hostile or accidental input before it reaches a header,
// a file or the wire.
const (
	maxAddressLen   = 320       // bytes, display name included; RFC 5321 caps the address at 254
	maxSubjectLen   = 200       // bytes; stays below the 998-byte line limit even fully encoded
	maxTextLen      = 256 << 10 // bytes of body text
	maxSecretURLLen = 2048      // bytes
	maxKindLen      = 32        // bytes
)

// problems collects every broken rule, so a caller fixes them in one pass.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// err folds the problems into one errs.Invalid error, or returns nil.
func (p problems) err(op string) error {
	if len(p) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, op, strings.Join(p, "; "))
}

// parseAddress checks one address field and returns the parsed address, or
// nil after recording why it is unusable. The value is quoted in messages
// (%q) so a CR or LF shows as an escape, never as a line break.
func parseAddress(p *problems, field, s string) *netmail.Address {
	switch {
	case s == "":
		p.addf("%s: required", field)
		return nil
	case len(s) > maxAddressLen:
		p.addf("%s: longer than %d bytes", field, maxAddressLen)
		return nil
	case hasControl(s):
		// Checked before parsing: net/mail would read CRLF + space as folding
		// white space, and a header built from it could grow a second line.
		p.addf("%s: %q contains a control character (CR, LF, ...)", field, s)
		return nil
	case !utf8.ValidString(s):
		p.addf("%s: %q is not valid UTF-8", field, s)
		return nil
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		p.addf("%s: %q is not an e-mail address (like user@example.com)", field, s)
		return nil
	}
	if !isASCII(a.Address) {
		// SMTPUTF8 (RFC 6531) is not negotiated: write IDN domains as punycode.
		p.addf("%s: %q has non-ASCII characters in the address itself", field, s)
		return nil
	}
	return a
}

// checkMessage validates m and returns its parsed recipient; the error is an
// errs.Invalid listing every broken rule. SecretURL's value is never quoted
// in a message: errors reach logs and callers.
func checkMessage(op string, m Message) (*netmail.Address, error) {
	var p problems
	to := parseAddress(&p, "to", m.To)
	switch {
	case m.Subject == "":
		p.addf("subject: required")
	case len(m.Subject) > maxSubjectLen:
		p.addf("subject: longer than %d bytes", maxSubjectLen)
	case hasControl(m.Subject):
		p.addf("subject: %q contains a control character (CR, LF, ...)", m.Subject)
	case !utf8.ValidString(m.Subject):
		p.addf("subject: %q is not valid UTF-8", m.Subject)
	}
	if !validKind(m.Kind) {
		p.addf("kind: %q must be 1 to %d characters a-z, 0-9 or _", m.Kind, maxKindLen)
	}
	switch {
	case len(m.Text) > maxTextLen:
		p.addf("text: longer than %d bytes", maxTextLen)
	case !utf8.ValidString(m.Text):
		p.addf("text: not valid UTF-8")
	case strings.ContainsRune(m.Text, 0):
		p.addf("text: contains a NUL character")
	}
	if m.SecretURL != "" {
		switch {
		case len(m.SecretURL) > maxSecretURLLen:
			p.addf("secret_url: longer than %d bytes", maxSecretURLLen)
		case strings.IndexFunc(m.SecretURL, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
			p.addf("secret_url: contains white space or a control character")
		default:
			if u, err := url.Parse(m.SecretURL); err != nil || u.Scheme == "" || u.Host == "" {
				p.addf("secret_url: not an absolute URL")
			}
		}
	}
	if err := p.err(op); err != nil {
		return nil, err
	}
	return to, nil
}

// validKind reports whether k is a short snake_case word, safe in a file name.
func validKind(k string) bool {
	if k == "" || len(k) > maxKindLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a C0 control (CR and LF among them),
// DEL, or a Unicode line or paragraph separator.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || unicode.In(r, unicode.Zl, unicode.Zp) || (r >= 0x80 && r < 0xa0)
	}) >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// body is the text that goes into the mail: Text, then SecretURL on a line
// of its own unless Text already contains it.
func (m Message) body() string {
	if m.SecretURL == "" || strings.Contains(m.Text, m.SecretURL) {
		return m.Text
	}
	text := strings.TrimRight(m.Text, "\r\n")
	if text == "" {
		return m.SecretURL + "\n"
	}
	return text + "\n\n" + m.SecretURL + "\n"
}

// compose renders m as an RFC 5322 message with CRLF line endings. Every
// header value comes from a parsed address, a checked subject or a value
// built here, so none can hold a line break; the body is quoted-printable.
func compose(from, to *netmail.Address, m Message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+domainOf(from.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: tells auto-responders (vacation replies) not to answer.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	// The quoted-printable writer turns every line break into CRLF and wraps
	// long lines (the link among them) with soft breaks, so the message is
	// 7-bit clean and no line is over 76 characters.
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(m.body())) // writes to a bytes.Buffer cannot fail
	_ = qp.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// domainOf returns the part of a checked address after its last "@".
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
