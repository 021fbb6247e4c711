package console_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"html"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/logx"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

const pw = "correct horse battery staple"

// instance is a real server plus direct access to its data.
type instance struct {
	t       *testing.T
	base    string
	data    *app.Data
	pool    *x509.CertPool
	logs    *lockedWriter
	dataDir string
	orgs    map[string]app.Organization
	users   map[string]string // email -> id
}

func start(t *testing.T, d store.Dialect) *instance {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.Listen.HTTP = config.ListenOff
	if d == store.Postgres {
		cfg.DatabaseURL = testutil.FreshPostgresSchema(t)
	}
	logs := &lockedWriter{}
	log := logx.New(logs, logx.Options{Format: "json", Level: slog.LevelDebug})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.Start(ctx, cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	pemBytes, err := os.ReadFile(filepath.Join(cfg.DataDir, "tls", "dev-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &instance{t: t, base: srv.URL(), data: srv.Data(), pool: pool, logs: logs, dataDir: cfg.DataDir,
		orgs: map[string]app.Organization{}, users: map[string]string{}}
}

// seed makes organizations acme and globex, each with an owner, a member
// and an auditor.
func (in *instance) seed() {
	t := in.t
	t.Helper()
	ctx := context.Background()
	for _, slug := range []string{"acme", "globex"} {
		o, err := in.data.CreateOrganization(ctx, "operator:test", slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		in.orgs[slug] = o
		for _, u := range []struct{ email, role string }{{"owner@" + slug + ".test", "owner"}, {"member@" + slug + ".test", "member"}, {"auditor@" + slug + ".test", "auditor"}} {
			nu, err := in.data.Identity.CreateUserAsOperator(ctx, "operator:test", o.ID, identity.NewUser{Email: u.email, Password: pw, Roles: []string{u.role}})
			if err != nil {
				t.Fatal(err)
			}
			in.users[u.email] = nu.ID
		}
	}
}

// browser is one user agent with its own cookie jar. It does not follow
// redirects, so tests see them.
type browser struct {
	t    *testing.T
	in   *instance
	http *http.Client
	ua   string
}

func (in *instance) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, in: in, ua: "console-test", http: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: in.pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", b.ua)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw), location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.in.base+path, nil)
	return b.do(req)
}

// post submits a form the way a browser on this origin does: same-origin
// fetch metadata and the page's CSRF token (taken from tokenPage).
func (b *browser) post(path string, form url.Values, tokenPage string) page {
	b.t.Helper()
	form = cloneValues(form)
	if tokenPage != "" {
		form.Set("csrf_token", b.csrf(tokenPage))
	}
	return b.postRaw(path, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": b.in.base})
}

func (b *browser) postRaw(path string, form url.Values, headers map[string]string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.in.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf loads a page and returns its forms' token.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s (%d): no CSRF token in the page", path, p.status)
	}
	return html.UnescapeString(m[1])
}

func (b *browser) expect(p page, status int, what string) page {
	b.t.Helper()
	if p.status != status {
		b.t.Fatalf("%s: status %d, want %d; location %q\n%s", what, p.status, status, p.location, excerpt(p.body))
	}
	return p
}

// signIn signs in with a password and returns where the console sent the browser.
func (b *browser) signIn(org, email, password string) page {
	b.t.Helper()
	return b.post("/console/sign-in", url.Values{"organization": {org}, "email": {email}, "password": {password}}, "/console/sign-in")
}

func (b *browser) mustSignIn(org, email string) {
	b.t.Helper()
	p := b.signIn(org, email, pw)
	if p.status != http.StatusSeeOther || p.location != "/console/account" {
		b.t.Fatalf("sign in as %s: %d %q\n%s", email, p.status, p.location, excerpt(p.body))
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 1500 {
		s = s[:1500]
	}
	return s
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// mailLink returns the newest link of kind ("invite", "reset") mailed to
// email, read from the outbox the instance writes without SMTP.
func (in *instance) mailLink(t *testing.T, email, page string) string {
	t.Helper()
	in.data.Identity.WaitForMail()
	dir := filepath.Join(in.dataDir, "outbox")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	re := regexp.MustCompile(`https://[^\s"]+/` + page + `#token=([A-Za-z0-9_\-]+)`)
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		if !bytes.Contains(bytes.ToLower(head), []byte("<"+strings.ToLower(email)+">")) {
			continue
		}
		dec, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if m := re.FindSubmatch(dec); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("no %s link mailed to %s in %s", page, email, dir)
	return ""
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
