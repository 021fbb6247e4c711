package certs

import (
	"crypto/tls"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// servedSerial does a real handshake and returns the serial the server sent.
func servedSerial(t *testing.T, addr string, roots ...testPair) *big.Int {
	t.Helper()
	cfg := &tls.Config{ServerName: "localhost", Time: func() time.Time { return t0 }}
	cfg.RootCAs = pool(roots[0].leaf)
	for _, r := range roots[1:] {
		cfg.RootCAs.AddCert(r.leaf)
	}
	st, err := handshake(addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return st.PeerCertificates[0].SerialNumber
}

func currentSerial(t *testing.T, p *Provider) *big.Int {
	t.Helper()
	c, err := p.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber
}

// replaceFiles writes pair over the files and moves their mtime forward, so
// the change is visible even on filesystems with coarse timestamps.
func replaceFiles(t *testing.T, certFile, keyFile string, certPEM, keyPEM []byte, mtime time.Time) {
	t.Helper()
	writeFile(t, certFile, certPEM)
	writeFile(t, keyFile, keyPEM)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFilesModeReloadServesTheNewCertificate(t *testing.T) {
	a, b := newPair(t, pairSpec{}), newPair(t, pairSpec{rsaBits: 2048})
	certFile, keyFile := a.write(t, t.TempDir())
	p, err := Open(Source{CertFile: certFile, KeyFile: keyFile, now: newClock(t0).now})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode() != ModeFiles {
		t.Fatalf("Mode() = %q", p.Mode())
	}
	if d := p.Describe(); d != "certificate files "+certFile+" and "+keyFile+" (for localhost, 127.0.0.1, issued by CN=localhost, expires 2026-05-30)" {
		t.Errorf("Describe() = %q", d)
	}
	addr := serveTLS(t, p.TLSConfig())
	if got := servedSerial(t, addr, a, b); got.Cmp(a.leaf.SerialNumber) != 0 {
		t.Fatal("not serving the first certificate")
	}

	replaceFiles(t, certFile, keyFile, b.certPEM, b.keyPEM, time.Now().Add(time.Minute))
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, addr, a, b); got.Cmp(b.leaf.SerialNumber) != 0 {
		t.Fatal("Reload did not put the new certificate in service")
	}
}

func TestFilesModeNoticesChangedFilesWithinTheInterval(t *testing.T) {
	a, b, c := newPair(t, pairSpec{}), newPair(t, pairSpec{}), newPair(t, pairSpec{})
	certFile, keyFile := a.write(t, t.TempDir())
	clock := newClock(t0)
	var mu sync.Mutex
	var reported []string
	p, err := Open(Source{CertFile: certFile, KeyFile: keyFile, now: clock.now, OnReloadError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, errsMessage(err))
	}})
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Now()

	mtime = mtime.Add(time.Minute)
	replaceFiles(t, certFile, keyFile, b.certPEM, b.keyPEM, mtime)
	clock.advance(9 * time.Second)
	if currentSerial(t, p).Cmp(a.leaf.SerialNumber) != 0 {
		t.Fatal("files were re-read before the check interval passed")
	}
	clock.advance(2 * time.Second)
	if currentSerial(t, p).Cmp(b.leaf.SerialNumber) != 0 {
		t.Fatal("changed files were not picked up after the check interval")
	}

	// Half a renewal: the new certificate is there, its key not yet. The old
	// pair stays in service and the failure is reported once.
	mtime = mtime.Add(time.Minute)
	replaceFiles(t, certFile, keyFile, c.certPEM, b.keyPEM, mtime)
	for range 3 {
		clock.advance(11 * time.Second)
		if currentSerial(t, p).Cmp(b.leaf.SerialNumber) != 0 {
			t.Fatal("a mismatched pair was put in service")
		}
	}
	mu.Lock()
	want := []string{`tls.key_file: "` + keyFile + `" does not match the certificate in tls.cert_file "` + certFile + `"`}
	if !slices.Equal(reported, want) {
		t.Errorf("OnReloadError got %q, want %q", reported, want)
	}
	mu.Unlock()

	// The key lands: the next check completes the renewal.
	mtime = mtime.Add(time.Minute)
	replaceFiles(t, certFile, keyFile, c.certPEM, c.keyPEM, mtime)
	clock.advance(11 * time.Second)
	if currentSerial(t, p).Cmp(c.leaf.SerialNumber) != 0 {
		t.Fatal("completed renewal was not picked up")
	}
}

func TestFilesModeReloadRefusesABrokenReplacement(t *testing.T) {
	a := newPair(t, pairSpec{})
	certFile, keyFile := a.write(t, t.TempDir())
	p, err := Open(Source{CertFile: certFile, KeyFile: keyFile, now: newClock(t0).now})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, []byte("oops"))
	err = p.Reload()
	if want := `tls.cert_file: "` + certFile + `" is not PEM: no CERTIFICATE block found`; errsMessage(err) != want {
		t.Fatalf("Reload() = %v, want %q", err, want)
	}
	if !strings.HasPrefix(err.Error(), "certs.Reload: ") {
		t.Errorf("Error() = %q, want op certs.Reload", err)
	}
	if currentSerial(t, p).Cmp(a.leaf.SerialNumber) != 0 {
		t.Fatal("the previous certificate was dropped")
	}
}

func TestOpenInACMEModeContactsNobody(t *testing.T) {
	// Any request reaching this fake CA fails the test.
	ca := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected ACME request %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer ca.Close()

	cacheDir := filepath.Join(t.TempDir(), "acme")
	p, err := Open(Source{
		ACMEDomains:      []string{"rampart.example.com", "www.rampart.example.com"},
		ACMEEmail:        "ops@example.com",
		ACMECacheDir:     cacheDir,
		ACMEDirectoryURL: ca.URL + "/directory",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode() != ModeACME {
		t.Fatalf("Mode() = %q", p.Mode())
	}
	if m := fileMode(t, cacheDir); m != 0o700 {
		t.Errorf("cache directory mode %o, want 700", m)
	}
	if want := "ACME certificates for rampart.example.com, www.rampart.example.com from " + ca.URL + "/directory (cache " + cacheDir + ")"; p.Describe() != want {
		t.Errorf("Describe() = %q, want %q", p.Describe(), want)
	}

	t.Run("a ClientHello for an unlisted host is refused", func(t *testing.T) {
		for _, name := range []string{"evil.example.net", "rampart.example.com.evil.net", ""} {
			cert, err := p.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
			if err == nil || cert != nil {
				t.Errorf("%q: got a certificate", name)
			}
		}
		_, err := p.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.net"})
		if want := `acme/autocert: host "evil.example.net" not configured in HostWhitelist`; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	})
	t.Run("a real handshake for an unlisted host fails", func(t *testing.T) {
		addr := serveTLS(t, p.TLSConfig())
		_, err := handshake(addr, &tls.Config{ServerName: "evil.example.net", InsecureSkipVerify: true}) //nolint:gosec // the server must refuse before any certificate
		if err == nil {
			t.Fatal("handshake succeeded")
		}
	})
	t.Run("TLSConfig adds the TLS-ALPN-01 protocol", func(t *testing.T) {
		if got := p.TLSConfig().NextProtos; !slices.Equal(got, []string{"h2", "http/1.1", acme.ALPNProto}) {
			t.Errorf("NextProtos = %v", got)
		}
	})
	t.Run("HTTPHandler routes challenges to the manager", func(t *testing.T) {
		fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		})
		h := p.HTTPHandler(fallback)
		for _, tt := range []struct {
			name, host, path string
			want             int
		}{
			{"an unknown token for a listed host is the manager's 404", "rampart.example.com", "/.well-known/acme-challenge/abc", http.StatusNotFound},
			{"a challenge for an unlisted host is the manager's 403", "evil.example.net", "/.well-known/acme-challenge/abc", http.StatusForbidden},
			{"anything else goes to the fallback", "rampart.example.com", "/login", http.StatusTeapot},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "http://"+tt.host+tt.path, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.want {
					t.Errorf("status %d, want %d", w.Code, tt.want)
				}
			})
		}
	})
	t.Run("HTTPHandler without a fallback redirects to HTTPS", func(t *testing.T) {
		w := httptest.NewRecorder()
		p.HTTPHandler(nil).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://rampart.example.com/x?y=1", nil))
		if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://rampart.example.com/x?y=1" {
			t.Errorf("got %d %q", w.Code, w.Header().Get("Location"))
		}
	})
	if entries, _ := os.ReadDir(cacheDir); len(entries) != 0 {
		t.Errorf("cache holds %v; nothing should have been fetched", entries)
	}
}

func TestACMEDefaultsToLetsEncryptAndDataDir(t *testing.T) {
	dataDir := t.TempDir()
	p, err := Open(Source{ACMEDomains: []string{"rampart.example.com"}, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	want := "ACME certificates for rampart.example.com from https://acme-v02.api.letsencrypt.org/directory (cache " + filepath.Join(dataDir, "acme") + ")"
	if p.Describe() != want {
		t.Errorf("Describe() = %q, want %q", p.Describe(), want)
	}
	if err := p.Reload(); err != nil {
		t.Errorf("Reload() = %v; ACME renews by itself", err)
	}
}

func TestHTTPHandlerOutsideACMEIsTheFallback(t *testing.T) {
	p, err := Open(Source{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	w := httptest.NewRecorder()
	p.HTTPHandler(fallback).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost/.well-known/acme-challenge/x", nil))
	if w.Code != http.StatusTeapot {
		t.Errorf("status %d, want the fallback's", w.Code)
	}
	if got := p.TLSConfig().NextProtos; !slices.Equal(got, []string{"h2", "http/1.1"}) {
		t.Errorf("NextProtos = %v outside ACME", got)
	}
}

// TestConcurrentHandshakesAndReloads is for the race detector.
func TestConcurrentHandshakesAndReloads(t *testing.T) {
	a, b := newPair(t, pairSpec{}), newPair(t, pairSpec{})
	certFile, keyFile := a.write(t, t.TempDir())
	clock := newClock(t0)
	p, err := Open(Source{CertFile: certFile, KeyFile: keyFile, now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				if c, err := p.GetCertificate(nil); err != nil || c == nil {
					t.Error("no certificate")
					return
				}
				if i == 0 {
					clock.advance(time.Second)
				}
			}
		})
	}
	wg.Go(func() {
		for j := range 20 {
			pair := a
			if j%2 == 1 {
				pair = b
			}
			// Not atomic on purpose: loads may see half a renewal and must
			// keep the previous pair in service.
			if err := os.WriteFile(certFile, pair.certPEM, 0o600); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(keyFile, pair.keyPEM, 0o600); err != nil {
				t.Error(err)
			}
			_ = p.Reload()
			_ = p.Describe()
		}
	})
	wg.Wait()
}
