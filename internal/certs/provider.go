package certs

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/rampart-platform/rampart/internal/errs"
)

// fileCheckInterval bounds how often GetCertificate looks at the files'
// modification times: often enough that a renewal is picked up within
// seconds, rarely enough that handshakes do not pay for a stat each.
const fileCheckInterval = 10 * time.Second

// backend is one certificate mode.
type backend interface {
	getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	reload() error
	describe() string
}

var (
	_ backend = (*fileBackend)(nil)
	_ backend = (*devBackend)(nil)
	_ backend = (*acmeBackend)(nil)
)

// Provider yields certificates for the HTTPS server and, in ACME mode, the
// handler that answers HTTP-01 challenges on the plain-HTTP port. It is safe
// for concurrent use.
type Provider struct {
	mode string
	b    backend
	acme *autocert.Manager // ACME mode only
}

// Open validates src and builds its Provider. Files mode loads the pair (and
// refuses a bad one); development mode reuses or creates the certificate
// under <DataDir>/tls; ACME mode prepares the cache directory but contacts
// nobody until a client arrives. Configuration problems are errs.Invalid.
func Open(src Source) (*Provider, error) {
	if err := problemsError("certs.Open", checkProblems(src)); err != nil {
		return nil, err
	}
	p := &Provider{mode: src.mode()}
	var err error
	switch p.mode {
	case ModeFiles:
		p.b, err = newFileBackend(src)
	case ModeACME:
		var a *acmeBackend
		a, err = newACMEBackend(src)
		if err == nil {
			p.b, p.acme = a, a.m
		}
	default:
		p.b, err = newDevBackend(src)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetCertificate returns the certificate for a handshake; it is the
// tls.Config.GetCertificate hook.
func (p *Provider) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.b.getCertificate(hello)
}

// Mode reports "files", "acme" or "development".
func (p *Provider) Mode() string { return p.mode }

// TLSConfig returns ServerConfig(p.GetCertificate), plus the "acme-tls/1"
// protocol in ACME mode so the CA can use the TLS-ALPN-01 challenge.
// Without it autocert still falls back to HTTP-01, but only after a failed
// validation that counts against the CA's rate limits.
func (p *Provider) TLSConfig() *tls.Config {
	var extra []string
	if p.acme != nil {
		extra = []string{acme.ALPNProto}
	}
	return serverConfig(p.GetCertificate, extra)
}

// HTTPHandler wraps the plain-HTTP handler: in ACME mode it answers
// /.well-known/acme-challenge/ for the configured domains and passes
// everything else to fallback; in other modes it is fallback. A nil fallback
// means RedirectHandler("443").
func (p *Provider) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		// Not autocert's own default: that one copies the Host header into
		// the redirect unchecked.
		fallback = RedirectHandler("443")
	}
	if p.acme == nil {
		return fallback
	}
	return p.acme.HTTPHandler(fallback)
}

// Describe is a one-line summary for the startup banner, e.g.
// "development certificate <path> (self-signed, reused, ..., expires 2027-01-02, SHA-256 ...)".
func (p *Provider) Describe() string { return p.b.describe() }

// Reload re-reads the certificate files now (files mode), for a SIGHUP
// handler; on error the previous certificate stays in service. In
// development mode it replaces a certificate that is about to expire; in
// ACME mode it does nothing, as autocert renews on its own.
func (p *Provider) Reload() error { return p.b.reload() }

// fileBackend serves an operator-supplied pair and follows its renewals.
type fileBackend struct {
	certFile, keyFile string
	now               func() time.Time
	onError           func(error)

	cur       atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix nanoseconds of the next mtime check

	mu   sync.Mutex // serializes loads
	seen fileStamp  // state of the files at the last load attempt; guarded by mu
}

// fileStamp identifies a version of the pair on disk without reading it.
type fileStamp struct {
	certMod, keyMod   int64
	certSize, keySize int64
}

func statPair(certFile, keyFile string) fileStamp {
	var s fileStamp
	// os.Stat follows symlinks, so an atomic symlink swap (as Kubernetes
	// does for mounted secrets) shows up as a change. A missing file leaves
	// zeros, which is a change too and makes the load report it.
	if fi, err := os.Stat(certFile); err == nil {
		s.certMod, s.certSize = fi.ModTime().UnixNano(), fi.Size()
	}
	if fi, err := os.Stat(keyFile); err == nil {
		s.keyMod, s.keySize = fi.ModTime().UnixNano(), fi.Size()
	}
	return s
}

func newFileBackend(src Source) (*fileBackend, error) {
	b := &fileBackend{
		certFile: src.CertFile,
		keyFile:  src.KeyFile,
		now:      src.clock,
		onError:  src.OnReloadError,
	}
	if err := b.load("certs.Open"); err != nil {
		return nil, err
	}
	return b, nil
}

// load reads the pair and, if it is good, puts it in service. The caller
// must hold mu (or be the constructor).
func (b *fileBackend) load(op string) error {
	now := b.now()
	b.seen = statPair(b.certFile, b.keyFile) // before reading: a later write shows as a change
	b.nextCheck.Store(now.Add(fileCheckInterval).UnixNano())
	cert, ps := loadKeyPair(b.certFile, b.keyFile, now)
	if err := problemsError(op, ps); err != nil {
		return err
	}
	b.cur.Store(cert)
	return nil
}

func (b *fileBackend) reload() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.load("certs.Reload")
}

func (b *fileBackend) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	b.maybeReload()
	return b.cur.Load(), nil
}

// maybeReload re-reads the pair if the check interval has passed and the
// files changed. Only the handshake that wins the compare-and-swap does the
// check; the others carry on with the current certificate, unblocked.
func (b *fileBackend) maybeReload() {
	now := b.now().UnixNano()
	next := b.nextCheck.Load()
	if now < next || !b.nextCheck.CompareAndSwap(next, now+int64(fileCheckInterval)) {
		return
	}
	b.mu.Lock()
	var err error
	if statPair(b.certFile, b.keyFile) != b.seen {
		// A failed load records the broken state in seen, so it is
		// reported once, not every 10 seconds, and retried when the files
		// change again (for instance when the key lands after the
		// certificate).
		err = b.load("certs.Reload")
	}
	b.mu.Unlock()
	// Outside the lock: the callback may log, or even call Reload.
	if err != nil && b.onError != nil {
		b.onError(err)
	}
}

func (b *fileBackend) describe() string {
	leaf := b.cur.Load().Leaf
	var names []string
	names = append(names, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, leaf.Subject.CommonName)
	}
	return fmt.Sprintf("certificate files %s and %s (for %s, issued by %s, expires %s)",
		b.certFile, b.keyFile, strings.Join(names, ", "), leaf.Issuer.String(), leaf.NotAfter.UTC().Format(time.DateOnly))
}

// acmeBackend obtains and renews certificates through autocert.
type acmeBackend struct {
	m         *autocert.Manager
	domains   []string
	directory string
	cacheDir  string
}

func newACMEBackend(src Source) (*acmeBackend, error) {
	a := &acmeBackend{
		domains:   src.ACMEDomains,
		directory: src.ACMEDirectoryURL,
		cacheDir:  src.acmeCacheDir(),
	}
	// Create the cache now (0700: it holds the ACME account key and every
	// certificate key) so an unwritable directory fails at startup, not at
	// the first handshake.
	if err := os.MkdirAll(a.cacheDir, 0o700); err != nil {
		return nil, errs.E(errs.Invalid, "certs.Open",
			fmt.Sprintf("tls.acme.cache_dir: cannot create %q", a.cacheDir), err)
	}
	a.m = &autocert.Manager{
		// Configuring ACME domains is the operator's acceptance of the CA's
		// terms; there is nobody to prompt at handshake time.
		Prompt: autocert.AcceptTOS,
		Cache:  autocert.DirCache(a.cacheDir),
		// Only the configured names: without a whitelist anyone could point
		// a DNS name at this server and make it request certificates (and
		// burn the CA's rate limits) for them.
		HostPolicy: autocert.HostWhitelist(src.ACMEDomains...),
		Email:      src.ACMEEmail,
	}
	if a.directory == "" {
		a.directory = autocert.DefaultACMEDirectory
	} else {
		a.m.Client = &acme.Client{DirectoryURL: a.directory}
	}
	return a, nil
}

func (a *acmeBackend) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.m.GetCertificate(hello)
}

func (a *acmeBackend) reload() error { return nil }

func (a *acmeBackend) describe() string {
	return fmt.Sprintf("ACME certificates for %s from %s (cache %s)",
		strings.Join(a.domains, ", "), a.directory, a.cacheDir)
}
