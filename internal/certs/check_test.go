package certs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// errsMessage returns the safe message of an errs.Invalid error, or a marker
// that makes the comparison fail if err is of another kind.
func errsMessage(err error) string {
	if k := errs.KindOf(err); k != errs.Invalid {
		return "kind " + k.String() + ": " + err.Error()
	}
	return errs.SafeMessage(err)
}

// fixture holds files the Check table refers to.
type fixture struct {
	dir               string
	cert, key         string // a good pair
	otherKey          string // a key of another pair
	expiredCert       string // with key expiredKey
	expiredKey        string
	futureCert        string // not valid yet, with key futureKey
	futureKey         string
	weakCert, weakKey string // RSA-1024
	garbage           string
	subdir            string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir}
	mk := func(name string, spec pairSpec) (string, string) {
		sub := filepath.Join(dir, name)
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		return newPair(t, spec).write(t, sub)
	}
	f.cert, f.key = mk("good", pairSpec{})
	_, f.otherKey = mk("other", pairSpec{})
	f.expiredCert, f.expiredKey = mk("expired", pairSpec{notBefore: t0.AddDate(-1, 0, 0), notAfter: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	f.futureCert, f.futureKey = mk("future", pairSpec{notBefore: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	f.weakCert, f.weakKey = mk("weak", pairSpec{rsaBits: 1024})
	f.garbage = filepath.Join(dir, "garbage.pem")
	writeFile(t, f.garbage, []byte("this is not PEM\n"))
	f.subdir = filepath.Join(dir, "good")
	return f
}

func TestCheckNamesTheOptionAndTheProblem(t *testing.T) {
	f := newFixture(t)
	now := func() time.Time { return t0 }
	missing := filepath.Join(f.dir, "missing.pem")
	for _, tt := range []struct {
		name string
		src  Source
		want string
	}{
		{"a missing certificate file", Source{CertFile: missing, KeyFile: f.key},
			`tls.cert_file: "` + missing + `" does not exist`},
		{"a missing key file", Source{CertFile: f.cert, KeyFile: missing},
			`tls.key_file: "` + missing + `" does not exist`},
		{"both files missing, both reported", Source{CertFile: missing, KeyFile: missing},
			`tls.cert_file: "` + missing + `" does not exist; tls.key_file: "` + missing + `" does not exist`},
		{"a certificate path that is a directory", Source{CertFile: f.subdir, KeyFile: f.key},
			`tls.cert_file: "` + f.subdir + `" cannot be read`},
		{"a certificate without a key", Source{CertFile: f.cert},
			`tls.key_file: required when tls.cert_file is set`},
		{"a key without a certificate", Source{KeyFile: f.key},
			`tls.cert_file: required when tls.key_file is set`},
		{"a certificate file that is not PEM", Source{CertFile: f.garbage, KeyFile: f.key},
			`tls.cert_file: "` + f.garbage + `" is not PEM: no CERTIFICATE block found`},
		{"a key file that is not PEM", Source{CertFile: f.cert, KeyFile: f.garbage},
			`tls.key_file: "` + f.garbage + `" is not PEM: no PRIVATE KEY block found`},
		{"a key file holding a certificate", Source{CertFile: f.cert, KeyFile: f.cert},
			`tls.key_file: "` + f.cert + `" is not PEM: no PRIVATE KEY block found`},
		{"a certificate file holding a key", Source{CertFile: f.key, KeyFile: f.key},
			`tls.cert_file: "` + f.key + `" is not PEM: no CERTIFICATE block found`},
		{"a key that does not match the certificate", Source{CertFile: f.cert, KeyFile: f.otherKey},
			`tls.key_file: "` + f.otherKey + `" does not match the certificate in tls.cert_file "` + f.cert + `"`},
		{"an expired certificate", Source{CertFile: f.expiredCert, KeyFile: f.expiredKey},
			`tls.cert_file: certificate in "` + f.expiredCert + `" expired on 2026-01-02`},
		{"a certificate not valid yet", Source{CertFile: f.futureCert, KeyFile: f.futureKey},
			`tls.cert_file: certificate in "` + f.futureCert + `" is not valid before 2026-04-01T00:00:00Z`},
		{"a 1024-bit RSA certificate", Source{CertFile: f.weakCert, KeyFile: f.weakKey},
			`tls.cert_file: certificate in "` + f.weakCert + `" has a 1024-bit RSA key; at least 2048 bits are required`},
		{"files and ACME together", Source{CertFile: f.cert, KeyFile: f.key, ACMEDomains: []string{"rampart.example.com"}, DataDir: f.dir},
			`tls.acme.domains: cannot be combined with tls.cert_file/tls.key_file; configure one certificate source`},
		{"a wildcard ACME domain", Source{ACMEDomains: []string{"*.example.com"}, DataDir: f.dir},
			`tls.acme.domains: "*.example.com" is a wildcard; ACME HTTP-01/TLS-ALPN-01 cannot validate wildcards, list each name`},
		{"an IP address as ACME domain", Source{ACMEDomains: []string{"192.0.2.1"}, DataDir: f.dir},
			`tls.acme.domains: "192.0.2.1" is an IP address; ACME certificates need a DNS name`},
		{"an ACME domain with a space and one with an underscore", Source{ACMEDomains: []string{"exa mple.com", "a_b.example.com"}, DataDir: f.dir},
			`tls.acme.domains: "exa mple.com" is not a valid DNS name (letters, digits, hyphens; internationalized names in xn-- form); ` +
				`tls.acme.domains: "a_b.example.com" is not a valid DNS name (letters, digits, hyphens; internationalized names in xn-- form)`},
		{"a raw Unicode ACME domain", Source{ACMEDomains: []string{"bücher.example"}, DataDir: f.dir},
			`tls.acme.domains: "bücher.example" is not a valid DNS name (letters, digits, hyphens; internationalized names in xn-- form)`},
		{"a single-label ACME domain", Source{ACMEDomains: []string{"localhost"}, DataDir: f.dir},
			`tls.acme.domains: "localhost" is not a fully qualified domain name`},
		{"an empty ACME domain", Source{ACMEDomains: []string{""}, DataDir: f.dir},
			`tls.acme.domains: "" is not a valid DNS name (letters, digits, hyphens; internationalized names in xn-- form)`},
		{"a bad ACME e-mail", Source{ACMEDomains: []string{"rampart.example.com"}, ACMEEmail: "Ops <ops@example.com>", DataDir: f.dir},
			`tls.acme.email: "Ops <ops@example.com>" is not a plain e-mail address`},
		{"a plain-http ACME directory", Source{ACMEDomains: []string{"rampart.example.com"}, ACMEDirectoryURL: "http://ca.example.com/dir", DataDir: f.dir},
			`tls.acme.directory_url: "http://ca.example.com/dir" is not an https URL`},
		{"ACME without any place for its cache", Source{ACMEDomains: []string{"rampart.example.com"}},
			`data_dir: required for the ACME cache when tls.acme.cache_dir is not set`},
		{"ACME options without ACME domains", Source{ACMEEmail: "ops@example.com", ACMECacheDir: "/var/cache/acme", ACMEDirectoryURL: "https://ca.example.com/dir", DataDir: f.dir},
			`tls.acme.email: set but tls.acme.domains is empty; tls.acme.cache_dir: set but tls.acme.domains is empty; tls.acme.directory_url: set but tls.acme.domains is empty`},
		{"development mode without a data directory", Source{},
			`data_dir: required to store the development certificate`},
		{"a development host that is not a name", Source{DataDir: f.dir, DevHosts: []string{"localhost", "local host", "fe80::1%eth0"}},
			`dev certificate host "local host" is not a hostname or IP address; dev certificate host "fe80::1%eth0" is not a hostname or IP address`},
		{"every problem at once", Source{CertFile: f.garbage, ACMEDomains: []string{"*.example.com"}},
			`tls.key_file: required when tls.cert_file is set; tls.acme.domains: cannot be combined with tls.cert_file/tls.key_file; configure one certificate source; ` +
				`tls.acme.domains: "*.example.com" is a wildcard; ACME HTTP-01/TLS-ALPN-01 cannot validate wildcards, list each name; ` +
				`data_dir: required for the ACME cache when tls.acme.cache_dir is not set`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.now = now
			err := Check(tt.src)
			if err == nil {
				t.Fatal("Check accepted a bad source")
			}
			if got := errsMessage(err); got != tt.want {
				t.Errorf("message\n got %s\nwant %s", got, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "certs.Check: "+tt.want) {
				t.Errorf("Error() = %q, want the operation and message first", err)
			}
			// Open refuses the same source with the same words.
			if _, err := Open(tt.src); errsMessage(err) != tt.want {
				t.Errorf("Open: %v", err)
			}
		})
	}
}

func TestCheckKeepsTheCauseForTheLog(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	err := Check(Source{CertFile: missing, KeyFile: missing})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("errors.Is(err, os.ErrNotExist) = false for %v", err)
	}
	if !errors.Is(err, &errs.Error{Kind: errs.Invalid}) {
		t.Errorf("not an errs.Invalid: %v", err)
	}
}

func TestCheckAcceptsGoodSources(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name string
		src  Source
	}{
		{"a valid pair", Source{CertFile: f.cert, KeyFile: f.key}},
		{"ACME with every option", Source{ACMEDomains: []string{"rampart.example.com", "WWW.Example.COM", "xn--bcher-kva.example"}, ACMEEmail: "ops@example.com", ACMECacheDir: filepath.Join(f.dir, "acme"), ACMEDirectoryURL: "https://127.0.0.1:14000/dir"}},
		{"ACME with the default cache", Source{ACMEDomains: []string{"rampart.example.com"}, DataDir: f.dir}},
		{"development", Source{DataDir: f.dir}},
		{"development with hosts", Source{DataDir: f.dir, DevHosts: []string{"rampart.test", "10.0.0.1", "::1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.now = func() time.Time { return t0 }
			if err := Check(tt.src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCheckCreatesNothing(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "data")
	for _, src := range []Source{
		{DataDir: dataDir},
		{DataDir: dataDir, ACMEDomains: []string{"rampart.example.com"}},
		{DataDir: dataDir, ACMEDomains: []string{"rampart.example.com"}, ACMECacheDir: filepath.Join(root, "cache")},
	} {
		if err := Check(src); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("Check created %v", entries)
	}
}
