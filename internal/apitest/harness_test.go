package apitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/logx"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// instance is a running server plus direct access to its data.
type instance struct {
	t    *testing.T
	base string
	data *app.Data
	pool *x509.CertPool
	logs *lockedWriter
}

// start runs a fresh instance on d until the test ends.
func start(t *testing.T, d store.Dialect) *instance { return startWith(t, d, nil) }

// startWith is start with settings changed by change (nil: the defaults).
func startWith(t testing.TB, d store.Dialect, change func(*config.Config)) *instance {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.Listen.HTTP = config.ListenOff
	if d == store.Postgres {
		cfg.DatabaseURL = testutil.FreshPostgresSchema(t)
	}
	if change != nil {
		change(&cfg)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
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
	in := &instance{base: srv.URL(), data: srv.Data(), pool: pool, logs: logs}
	if tt, ok := t.(*testing.T); ok {
		in.t = tt
	}
	return in
}

// client is one user agent with its own cookie jar.
type client struct {
	t      *testing.T
	in     *instance
	http   *http.Client
	bearer string
}

func (in *instance) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, in: in, http: &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: in.pool}},
	}}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.in.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	return readResponse(resp)
}

// readResponse decodes an answer's status, headers and JSON body.
func readResponse(resp *http.Response) response {
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r response) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (c *client) expect(want int, method, path string, body any) response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// lockedWriter serialises writes to the captured log.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func contains(list any, s string) bool {
	items, _ := list.([]any)
	for _, x := range items {
		if x == s {
			return true
		}
	}
	return false
}

var _ = strings.Contains
