package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

const (
	// devCertDir is the directory under DataDir holding the development pair.
	devCertDir = "tls"
	// devCertFile and devKeyFile are the pair's file names in devCertDir.
	devCertFile = "dev-cert.pem"
	devKeyFile  = "dev-key.pem"
	// devRenewBefore: a certificate expiring sooner than this is replaced at
	// startup, so a long-running development server does not hit expiry.
	devRenewBefore = 30 * 24 * time.Hour
	// devBackdate tolerates a client clock slightly behind ours.
	devBackdate = 5 * time.Minute
)

// devBackend serves the self-signed development certificate.
type devBackend struct {
	dir      string // <DataDir>/tls
	hosts    []string
	now      func() time.Time
	mu       sync.Mutex // serializes reload (which may write files)
	cur      atomic.Pointer[tls.Certificate]
	fromDisk bool // last load reused the files on disk (guarded by mu)
}

func newDevBackend(src Source) (*devBackend, error) {
	b := &devBackend{
		dir:   filepath.Join(src.DataDir, devCertDir),
		hosts: src.devHosts(),
		now:   src.clock,
	}
	if err := b.load("certs.Open"); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *devBackend) certPath() string { return filepath.Join(b.dir, devCertFile) }
func (b *devBackend) keyPath() string  { return filepath.Join(b.dir, devKeyFile) }

func (b *devBackend) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return b.cur.Load(), nil
}

func (b *devBackend) reload() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.load("certs.Reload")
}

// load reuses the pair on disk when it is still good, otherwise generates
// and writes a new one. Reuse matters: a developer who accepted the browser
// warning (or trusted the certificate) keeps that trust across restarts.
// The caller holds mu (or is the constructor).
func (b *devBackend) load(op string) error {
	now := b.now()
	if cert, err := loadDevCert(b.certPath(), b.keyPath(), b.hosts, now); err == nil {
		b.cur.Store(cert)
		b.fromDisk = true
		return nil
	}
	certPEM, keyPEM, err := generateDevCert(b.hosts, now)
	if err != nil {
		return errs.E(errs.Other, op, err)
	}
	if err := writeDevCert(b.dir, certPEM, keyPEM); err != nil {
		return errs.E(errs.Invalid, op,
			fmt.Sprintf("data_dir: cannot write the development certificate to %q", b.dir), err)
	}
	cert, err := x509KeyPair(certPEM, keyPEM)
	if err != nil {
		return errs.E(errs.Other, op, err)
	}
	b.cur.Store(cert)
	b.fromDisk = false
	return nil
}

// describe names the file, whether it was reused (a browser exception still
// applies) and its fingerprint (to compare before accepting a warning).
func (b *devBackend) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	leaf := b.cur.Load().Leaf
	origin := "newly generated"
	if b.fromDisk {
		origin = "reused"
	}
	sum := sha256.Sum256(leaf.Raw)
	return fmt.Sprintf("development certificate %s (self-signed, %s, for %s, expires %s, SHA-256 %s)",
		b.certPath(), origin, strings.Join(b.hosts, ", "), leaf.NotAfter.UTC().Format(time.DateOnly), fingerprint(sum[:]))
}

// fingerprint formats a digest as colon-separated hex, the form browsers
// show, so a developer can compare it before accepting the warning.
func fingerprint(sum []byte) string {
	parts := make([]string, len(sum))
	for i, c := range sum {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// loadDevCert returns the stored pair if it is usable at now: a matching
// pair, already valid, not expiring within devRenewBefore, and naming every
// configured host. Any error just means "generate a new one".
func loadDevCert(certPath, keyPath string, hosts []string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath) // #nosec G304 -- our own file under data_dir
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath) // #nosec G304 -- our own file under data_dir
	if err != nil {
		return nil, err
	}
	cert, err := x509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if now.Before(leaf.NotBefore) || !now.Add(devRenewBefore).Before(leaf.NotAfter) {
		return nil, errors.New("expired or expiring soon")
	}
	if leaf.IsCA {
		return nil, errors.New("is a CA certificate")
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return nil, err
		}
	}
	return cert, nil
}

// x509KeyPair is tls.X509KeyPair with Leaf always set (it is not when
// GODEBUG=x509keypairleaf=0), since expiry checks and Describe read it.
func x509KeyPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &cert, nil
}

// generateDevCert creates a self-signed ECDSA P-256 certificate for hosts,
// valid for one year from now, and returns it and its key as PEM.
func generateDevCert(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	// 128 random bits: unpredictable serials are what made chosen-prefix
	// collision attacks on certificates impractical; CA/B rules ask for ≥64.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	serial.SetBit(serial, 127, 1) // always positive and a full 128 bits
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"Rampart development"},
			CommonName:   hosts[0],
		},
		NotBefore: now.Add(-devBackdate),
		NotAfter:  now.AddDate(1, 0, 0),
		// ECDSA keys only sign: no KeyEncipherment. ServerAuth only, and not
		// a CA, so trusting this certificate in a browser cannot let it (or a
		// stolen copy of its key) vouch for any other site.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeDevCert stores the pair in dir (mode 0700), the key readable by the
// owner only (0600). Each file is written to a temporary name and renamed, so
// a crash never leaves a truncated key, and the key never exists on disk with
// wider permissions even for a moment.
func writeDevCert(dir string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory's mode alone; tighten it.
	if err := os.Chmod(dir, 0o700); err != nil { // #nosec G302 -- a directory needs x; 0700 is owner-only
		return err
	}
	if err := writeFileAtomic(dir, devKeyFile, keyPEM, 0o600); err != nil {
		return err
	}
	// The certificate is public; 0644 lets a developer import it into a
	// browser or trust store without copying it as root.
	return writeFileAtomic(dir, devCertFile, certPEM, 0o644)
}

func writeFileAtomic(dir, name string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp") // created 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil { // #nosec G302 -- 0644 only for the public certificate
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
