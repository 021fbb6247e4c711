package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// The modes a Provider can run in, as returned by Provider.Mode.
const (
	ModeFiles       = "files"
	ModeACME        = "acme"
	ModeDevelopment = "development"
)

// Source describes where certificates come from; exactly one mode is used:
// files when CertFile/KeyFile are set, ACME when ACMEDomains is non-empty,
// otherwise a generated development certificate.
type Source struct {
	CertFile, KeyFile string   // files (PEM chain, leaf first; PEM key); both or neither
	ACMEDomains       []string // ACME via autocert when non-empty; DNS names only
	ACMEEmail         string   // optional contact address given to the CA
	ACMECacheDir      string   // ACME account and certificate cache; default <DataDir>/acme
	ACMEDirectoryURL  string   // optional https URL, for tests/staging; empty = Let's Encrypt
	DataDir           string   // where the development certificate (and default ACME cache) lives
	DevHosts          []string // SANs for the dev cert; default localhost, 127.0.0.1, ::1

	// OnReloadError, if set, is told when an automatic re-read of changed
	// certificate files fails (files mode); the previous certificate stays in
	// service. Without it such a failure would be silent until expiry.
	OnReloadError func(error)

	now func() time.Time // clock; nil means time.Now (tests inject one)
}

// defaultDevHosts are the names a local browser or curl uses.
var defaultDevHosts = []string{"localhost", "127.0.0.1", "::1"}

// mode reports the single mode src selects; conflicts are reported by
// staticProblems, and files win so a conflicting config is never half-used.
func (src Source) mode() string {
	switch {
	case src.CertFile != "" || src.KeyFile != "":
		return ModeFiles
	case len(src.ACMEDomains) > 0:
		return ModeACME
	default:
		return ModeDevelopment
	}
}

func (src Source) clock() time.Time {
	if src.now != nil {
		return src.now()
	}
	return time.Now()
}

func (src Source) devHosts() []string {
	if len(src.DevHosts) == 0 {
		return defaultDevHosts
	}
	return src.DevHosts
}

func (src Source) acmeCacheDir() string {
	if src.ACMECacheDir != "" {
		return src.ACMECacheDir
	}
	return filepath.Join(src.DataDir, "acme")
}

// problem is one configuration mistake: a message that names the option, the
// rule and the bad value (safe to show an operator), and the underlying cause.
type problem struct {
	msg   string
	cause error
}

func problemf(cause error, format string, args ...any) problem {
	return problem{msg: fmt.Sprintf(format, args...), cause: cause}
}

// problemsError folds every problem into one errs.Invalid error, so an
// operator fixes the whole configuration in one pass instead of one
// restart per mistake. It returns nil when there are none.
func problemsError(op string, ps []problem) error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	var causes []error
	for i, p := range ps {
		msgs[i] = p.msg
		if p.cause != nil {
			causes = append(causes, p.cause)
		}
	}
	args := []any{errs.Invalid, op, strings.Join(msgs, "; ")}
	if len(causes) > 0 {
		args = append(args, causeList(causes))
	}
	return errs.E(args...)
}

// causeList keeps every cause for errors.Is/As and the log, on one line
// (errors.Join would put newlines into log records).
type causeList []error

func (l causeList) Error() string {
	parts := make([]string, len(l))
	for i, err := range l {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (l causeList) Unwrap() []error { return l }

// Check validates src without changing anything on disk: it reads the
// certificate files (files mode) but creates no directory or certificate.
// The error is an errs.Invalid listing every problem, each naming its option.
func Check(src Source) error {
	return problemsError("certs.Check", checkProblems(src))
}

// checkProblems is every problem with src, the certificate files included.
func checkProblems(src Source) []problem {
	ps := staticProblems(src)
	if src.CertFile != "" && src.KeyFile != "" {
		_, filePs := loadKeyPair(src.CertFile, src.KeyFile, src.clock())
		ps = append(ps, filePs...)
	}
	return ps
}

// staticProblems checks everything that needs no file I/O.
func staticProblems(src Source) []problem {
	var ps []problem
	files := src.CertFile != "" || src.KeyFile != ""
	acme := len(src.ACMEDomains) > 0

	switch {
	case src.CertFile != "" && src.KeyFile == "":
		ps = append(ps, problemf(nil, "tls.key_file: required when tls.cert_file is set"))
	case src.KeyFile != "" && src.CertFile == "":
		ps = append(ps, problemf(nil, "tls.cert_file: required when tls.key_file is set"))
	}
	if files && acme {
		ps = append(ps, problemf(nil, "tls.acme.domains: cannot be combined with tls.cert_file/tls.key_file; configure one certificate source"))
	}

	// ACME-only options without ACME are almost always a typo or a
	// half-finished change; refusing them avoids silently serving a
	// different certificate than the operator intended.
	if !acme {
		for _, o := range []struct{ name, value string }{
			{"tls.acme.email", src.ACMEEmail},
			{"tls.acme.cache_dir", src.ACMECacheDir},
			{"tls.acme.directory_url", src.ACMEDirectoryURL},
		} {
			if o.value != "" {
				ps = append(ps, problemf(nil, "%s: set but tls.acme.domains is empty", o.name))
			}
		}
	}
	if acme {
		for _, d := range src.ACMEDomains {
			if msg := acmeDomainProblem(d); msg != "" {
				ps = append(ps, problemf(nil, "tls.acme.domains: %q %s", d, msg))
			}
		}
		if src.ACMEEmail != "" {
			if a, err := mail.ParseAddress(src.ACMEEmail); err != nil || a.Address != src.ACMEEmail {
				ps = append(ps, problemf(err, "tls.acme.email: %q is not a plain e-mail address", src.ACMEEmail))
			}
		}
		if src.ACMEDirectoryURL != "" {
			// ACME requests are signed, but the directory tells the client
			// where to send them and the CA's answers are not: only https.
			if u, err := url.Parse(src.ACMEDirectoryURL); err != nil || u.Scheme != "https" || u.Host == "" {
				ps = append(ps, problemf(nil, "tls.acme.directory_url: %q is not an https URL", src.ACMEDirectoryURL))
			}
		}
		if src.ACMECacheDir == "" && src.DataDir == "" {
			ps = append(ps, problemf(nil, "data_dir: required for the ACME cache when tls.acme.cache_dir is not set"))
		}
	}
	if !files && !acme && src.DataDir == "" {
		ps = append(ps, problemf(nil, "data_dir: required to store the development certificate"))
	}
	for _, h := range src.DevHosts {
		if !validDevHost(h) {
			ps = append(ps, problemf(nil, "dev certificate host %q is not a hostname or IP address", h))
		}
	}
	return ps
}

// acmeDomainProblem returns why d cannot be requested from an ACME CA
// through autocert, or "".
func acmeDomainProblem(d string) string {
	switch {
	case strings.HasPrefix(d, "*."):
		return "is a wildcard; ACME HTTP-01/TLS-ALPN-01 cannot validate wildcards, list each name"
	case isIP(d):
		return "is an IP address; ACME certificates need a DNS name"
	case !validHostname(d):
		return "is not a valid DNS name (letters, digits, hyphens; internationalized names in xn-- form)"
	case !strings.Contains(d, "."):
		return "is not a fully qualified domain name"
	}
	return ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validDevHost accepts a hostname or an IP literal without zone: the SANs a
// certificate can carry.
func validDevHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return validHostname(h)
}

// validHostname reports whether s is an ASCII DNS hostname (RFC 1123): dot
// separated labels of letters, digits and inner hyphens, at most 253 bytes.
// One trailing dot (a fully qualified name) is allowed. Anything else — spaces,
// quotes, underscores, raw Unicode, control bytes — is refused, which is what
// makes a Host header safe to copy into a redirect.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	// An all-numeric last label ("1234", "10.0.0.1.", "0x7f.1") is not a
	// name: resolvers and browsers read such strings as IPv4 addresses.
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loadKeyPair reads and checks a certificate/key pair, returning either the
// certificate or the problems that make it unusable at time now.
func loadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, []problem) {
	certPEM, p1 := readPEMFile("tls.cert_file", certFile)
	keyPEM, p2 := readPEMFile("tls.key_file", keyFile)
	var ps []problem
	if p1 != nil {
		ps = append(ps, *p1)
	}
	if p2 != nil {
		ps = append(ps, *p2)
	}

	var leaf *x509.Certificate
	if certPEM != nil {
		var p *problem
		if leaf, p = parseLeaf(certFile, certPEM, now); p != nil {
			ps = append(ps, *p)
		}
	}
	var key crypto.Signer
	if keyPEM != nil {
		var p *problem
		if key, p = parseKey(keyFile, keyPEM); p != nil {
			ps = append(ps, *p)
		}
	}
	if leaf == nil || key == nil {
		return nil, ps
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		return nil, []problem{problemf(nil, "tls.key_file: %q does not match the certificate in tls.cert_file %q", keyFile, certFile)}
	}
	// The checks above are ours (for exact, option-naming messages); the
	// pair is still built by crypto/tls so nothing is parsed by hand.
	cert, err := x509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, []problem{problemf(err, "tls.cert_file: %q and tls.key_file: %q are not a usable pair", certFile, keyFile)}
	}
	return cert, nil
}

// readPEMFile reads path and returns its bytes, or a problem naming option.
func readPEMFile(option, path string) ([]byte, *problem) {
	data, err := os.ReadFile(path) // #nosec G304 -- the path is the operator's own configuration
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p := problemf(err, "%s: %q does not exist", option, path)
		return nil, &p
	case err != nil:
		p := problemf(err, "%s: %q cannot be read", option, path)
		return nil, &p
	}
	return data, nil
}

// parseLeaf finds the first CERTIFICATE block (the leaf) and checks it is
// currently valid and uses a key strong enough to be worth serving.
func parseLeaf(path string, data []byte, now time.Time) (*x509.Certificate, *problem) {
	var block *pem.Block
	for rest := data; ; {
		block, rest = pem.Decode(rest)
		if block == nil || block.Type == "CERTIFICATE" {
			break
		}
	}
	if block == nil {
		p := problemf(nil, "tls.cert_file: %q is not PEM: no CERTIFICATE block found", path)
		return nil, &p
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		p := problemf(err, "tls.cert_file: %q holds a certificate that cannot be parsed", path)
		return nil, &p
	}
	var p problem
	switch {
	case now.After(leaf.NotAfter):
		p = problemf(nil, "tls.cert_file: certificate in %q expired on %s", path, leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		p = problemf(nil, "tls.cert_file: certificate in %q is not valid before %s", path, leaf.NotBefore.UTC().Format(time.RFC3339))
	default:
		if msg := weakKey(leaf.PublicKey); msg != "" {
			p = problemf(nil, "tls.cert_file: certificate in %q has %s", path, msg)
		}
	}
	if p.msg != "" {
		return nil, &p
	}
	return leaf, nil
}

// weakKey describes a public key too weak to serve, or returns "".
// RSA below 2048 bits is factorable within reach of well-funded attackers and
// is refused by browsers anyway.
func weakKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Sprintf("a %d-bit RSA key; at least 2048 bits are required", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			return "an ECDSA key on an unsupported curve"
		}
	case ed25519.PublicKey:
	default:
		return fmt.Sprintf("an unsupported %T public key", pub)
	}
	return ""
}

// parseKey finds the PRIVATE KEY block and parses it with crypto/x509 in the
// three encodings crypto/tls accepts (PKCS#8, PKCS#1, SEC 1).
func parseKey(path string, data []byte) (crypto.Signer, *problem) {
	var block *pem.Block
	for rest := data; ; {
		block, rest = pem.Decode(rest)
		if block == nil || block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") {
			break
		}
	}
	if block == nil {
		p := problemf(nil, "tls.key_file: %q is not PEM: no PRIVATE KEY block found", path)
		return nil, &p
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		// Encrypted keys ("ENCRYPTED PRIVATE KEY") land here too: Rampart
		// cannot prompt for a passphrase at startup.
		p := problemf(err, "tls.key_file: %q holds a private key that cannot be parsed (%s)", path, block.Type)
		return nil, &p
	}
	return signer, nil
}
