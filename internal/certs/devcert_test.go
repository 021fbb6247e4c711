package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func openDev(t *testing.T, src Source) (*Provider, *x509.Certificate) {
	t.Helper()
	p, err := Open(src)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if p.Mode() != ModeDevelopment {
		t.Fatalf("Mode() = %q", p.Mode())
	}
	cert, err := p.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil || cert == nil || cert.Leaf == nil {
		t.Fatalf("GetCertificate = %v, %v", cert, err)
	}
	return p, cert.Leaf
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestDevCertIsGeneratedOnFirstOpenAndReusedAfter(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet
	clock := newClock(t0)
	src := Source{DataDir: dataDir, now: clock.now}

	p1, leaf := openDev(t, src)
	tlsDir := filepath.Join(dataDir, "tls")
	certPath, keyPath := filepath.Join(tlsDir, "dev-cert.pem"), filepath.Join(tlsDir, "dev-key.pem")

	t.Run("the key is readable by its owner only", func(t *testing.T) {
		if m := fileMode(t, keyPath); m != 0o600 {
			t.Errorf("key mode %o, want 600", m)
		}
		if m := fileMode(t, tlsDir); m != 0o700 {
			t.Errorf("directory mode %o, want 700", m)
		}
		if m := fileMode(t, certPath); m != 0o644 {
			t.Errorf("certificate mode %o, want 644", m)
		}
		entries, _ := os.ReadDir(tlsDir)
		if len(entries) != 2 {
			t.Errorf("directory holds %d entries, want 2 (no temporary files left)", len(entries))
		}
	})
	t.Run("the certificate has the documented profile", func(t *testing.T) {
		pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
		}
		if leaf.SerialNumber.BitLen() != 128 {
			t.Errorf("serial has %d bits, want 128", leaf.SerialNumber.BitLen())
		}
		if leaf.IsCA || !leaf.BasicConstraintsValid {
			t.Errorf("IsCA = %v, BasicConstraintsValid = %v; want a non-CA certificate", leaf.IsCA, leaf.BasicConstraintsValid)
		}
		if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("KeyUsage = %v, want DigitalSignature only", leaf.KeyUsage)
		}
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
			t.Errorf("ExtKeyUsage = %v, want ServerAuth only", leaf.ExtKeyUsage)
		}
		if !slices.Equal(leaf.DNSNames, []string{"localhost"}) {
			t.Errorf("DNSNames = %v", leaf.DNSNames)
		}
		if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !leaf.IPAddresses[1].Equal(net.ParseIP("::1")) {
			t.Errorf("IPAddresses = %v, want 127.0.0.1 and ::1", leaf.IPAddresses)
		}
		if want := t0.AddDate(1, 0, 0); !leaf.NotAfter.Equal(want) {
			t.Errorf("NotAfter = %v, want %v (one year)", leaf.NotAfter, want)
		}
		if leaf.NotBefore.After(t0) {
			t.Errorf("NotBefore = %v is after creation time", leaf.NotBefore)
		}
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
	})
	t.Run("the banner says where it is and that it is new", func(t *testing.T) {
		d := p1.Describe()
		for _, want := range []string{"development certificate " + certPath, "self-signed", "newly generated", "expires 2027-03-01", "SHA-256 "} {
			if !strings.Contains(d, want) {
				t.Errorf("Describe() = %q, lacks %q", d, want)
			}
		}
	})
	t.Run("a restart reuses the same certificate", func(t *testing.T) {
		clock.advance(24 * time.Hour)
		p2, again := openDev(t, src)
		if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("serial changed on restart: %x -> %x", leaf.SerialNumber, again.SerialNumber)
		}
		if d := p2.Describe(); !strings.Contains(d, "reused") {
			t.Errorf("Describe() = %q, lacks reused", d)
		}
	})
}

func TestDevCertIsRegeneratedWhenUnfit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after func(t *testing.T, src *Source, clock *fakeClock, dir string)
		renew bool
	}{
		{"it is kept 31 days before expiry", func(_ *testing.T, _ *Source, c *fakeClock, _ string) {
			c.set(t0.AddDate(1, 0, 0).Add(-31 * 24 * time.Hour))
		}, false},
		{"it is replaced 29 days before expiry", func(_ *testing.T, _ *Source, c *fakeClock, _ string) {
			c.set(t0.AddDate(1, 0, 0).Add(-29 * 24 * time.Hour))
		}, true},
		{"it is replaced once expired", func(_ *testing.T, _ *Source, c *fakeClock, _ string) {
			c.set(t0.AddDate(2, 0, 0))
		}, true},
		{"it is replaced when the clock is before its start", func(_ *testing.T, _ *Source, c *fakeClock, _ string) {
			c.set(t0.Add(-time.Hour))
		}, true},
		{"it is replaced when a configured host is not covered", func(_ *testing.T, s *Source, _ *fakeClock, _ string) {
			s.DevHosts = []string{"localhost", "rampart.test"}
		}, true},
		{"it is kept when the hosts shrink", func(_ *testing.T, s *Source, _ *fakeClock, _ string) {
			s.DevHosts = []string{"localhost"}
		}, false},
		{"it is replaced when the certificate file is corrupt", func(t *testing.T, _ *Source, _ *fakeClock, dir string) {
			writeFile(t, filepath.Join(dir, "tls", "dev-cert.pem"), []byte("garbage"))
		}, true},
		{"it is replaced when the key is missing", func(t *testing.T, _ *Source, _ *fakeClock, dir string) {
			if err := os.Remove(filepath.Join(dir, "tls", "dev-key.pem")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"it is replaced when the key belongs to another certificate", func(t *testing.T, _ *Source, _ *fakeClock, dir string) {
			writeFile(t, filepath.Join(dir, "tls", "dev-key.pem"), newPair(t, pairSpec{}).keyPEM)
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clock := newClock(t0)
			src := Source{DataDir: dir, now: clock.now}
			_, first := openDev(t, src)
			tt.after(t, &src, clock, dir)
			_, second := openDev(t, src)
			if renewed := second.SerialNumber.Cmp(first.SerialNumber) != 0; renewed != tt.renew {
				t.Fatalf("renewed = %v, want %v", renewed, tt.renew)
			}
			if tt.renew {
				for _, h := range src.devHosts() {
					if err := second.VerifyHostname(h); err != nil {
						t.Errorf("new certificate: %v", err)
					}
				}
				// The new pair is the one on disk, so the next start reuses it.
				_, third := openDev(t, src)
				if third.SerialNumber.Cmp(second.SerialNumber) != 0 {
					t.Error("regenerated certificate was not stored")
				}
			}
		})
	}
}

func TestDevCertReloadRenewsWhenExpiring(t *testing.T) {
	clock := newClock(t0)
	p, first := openDev(t, Source{DataDir: t.TempDir(), now: clock.now})
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if c, _ := p.GetCertificate(nil); c.Leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("Reload replaced a healthy certificate")
	}
	clock.set(first.NotAfter.Add(-time.Hour))
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if c, _ := p.GetCertificate(nil); c.Leaf.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("Reload kept a certificate that expires within the hour")
	}
}

func TestDevCertTightensAnExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tls"), 0o755); err != nil {
		t.Fatal(err)
	}
	openDev(t, Source{DataDir: dir, now: newClock(t0).now})
	if m := fileMode(t, filepath.Join(dir, "tls")); m != 0o700 {
		t.Errorf("directory mode %o, want 700", m)
	}
}

func TestDevCertUsesConfiguredHosts(t *testing.T) {
	_, leaf := openDev(t, Source{DataDir: t.TempDir(), DevHosts: []string{"rampart.test", "192.0.2.7"}, now: newClock(t0).now})
	if !slices.Equal(leaf.DNSNames, []string{"rampart.test"}) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "192.0.2.7" {
		t.Errorf("SANs = %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
}

func TestDevCertServesTLS(t *testing.T) {
	p, leaf := openDev(t, Source{DataDir: t.TempDir()})
	addr := serveTLS(t, p.TLSConfig())
	for _, name := range []string{"localhost", "127.0.0.1"} {
		st, err := handshake(addr, &tls.Config{RootCAs: pool(leaf), ServerName: name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Version != tls.VersionTLS13 {
			t.Errorf("%s: version %s", name, tls.VersionName(st.Version))
		}
	}
}

func TestDevCertUnwritableDataDirIsAConfigError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, nil)
	_, err := Open(Source{DataDir: file})
	if err == nil {
		t.Fatal("Open succeeded with a data_dir that is a file")
	}
	want := `data_dir: cannot write the development certificate to "` + filepath.Join(file, "tls") + `"`
	if got := errsMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
