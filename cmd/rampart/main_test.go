package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type result struct {
	code           int
	stdout, stderr string
}

// rampart runs the CLI in process with a clean environment.
func rampart(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: environ})
	return result{code, out.String(), errb.String()}
}

// instance is the data flags of a fresh instance on one database.
func instance(t *testing.T, d store.Dialect) []string {
	t.Helper()
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data")}
	if d == store.Postgres {
		args = append(args, "--database-url", testutil.FreshPostgresSchema(t))
	}
	return args
}

func withArgs(base []string, args ...string) []string {
	return append(append([]string{}, args...), base...)
}

func TestWrongConfigurationIsOneLineAndCreatesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badYAML := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(badYAML, []byte("listen:\n  htps: \":9443\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"malformed listen address", []string{"--listen-https", "abc"}, nil, `listen.https (RAMPART_LISTEN_HTTPS, --listen-https): "abc" is not a host:port address`},
		{"wrong type from the environment", nil, []string{"RAMPART_AUDIT_CHECKPOINT_EVERY=many"}, "audit.checkpoint_every"},
		{"unknown key in the file", []string{"--config", badYAML}, nil, `unknown setting "listen.htps"`},
		{"unreadable certificate", []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, nil, "tls.cert_file"},
		{"port in use", []string{"--listen-https", busy.Addr().String(), "--listen-http", "off"}, nil, "listen.https: cannot listen on " + busy.Addr().String() + ": the port is already in use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			r := rampart(t, c.environ, append([]string{"serve", "--data-dir", dataDir}, c.args...)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "rampart: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("stderr = %q, want one line naming %q", r.stderr, c.want)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Fatalf("data dir was created on a failed start (%v)", err)
			}
		})
	}
}

var (
	urlLine      = regexp.MustCompile(`running at (https://localhost:\d+)`)
	redirectLine = regexp.MustCompile(`http://(\S+) redirects to HTTPS`)
)

func TestServeEmbeddedDefault(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dataDir, "--listen-https", "127.0.0.1:0", "--listen-http", "127.0.0.1:0"},
			env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	}()
	var base, plain string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := urlLine.FindStringSubmatch(out.String()); m != nil {
			if r := redirectLine.FindStringSubmatch(out.String()); r != nil {
				base, plain = m[1], r[1]
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no URL printed; stdout %q stderr %q", out.String(), errb.String())
	}
	// Trust the generated development certificate, nothing else.
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, "tls", "dev-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("healthz: %d %v", resp.StatusCode, health)
	}
	for h, want := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000",
		"Content-Security-Policy":   "frame-ancestors 'none'",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s = %q, want it to contain %q", h, resp.Header.Get(h), want)
		}
	}
	if strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows inline script")
	}
	resp, err = client.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"database":"ok"`) || !strings.Contains(string(body), `"keys":"ok"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	resp, err = client.Get(base + "/no/such/thing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"not_found"`) {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, body)
	}
	resp, err = client.Get("http://" + plain + "/anything?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, httpsPort, _ := strings.Cut(strings.TrimPrefix(base, "https://"), ":")
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://127.0.0.1:"+httpsPort+"/anything?x=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	stop() // what SIGINT/SIGTERM do in main
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	// Shut down cleanly: the audit log, including start and stop, verifies.
	r := rampart(t, nil, "audit", "verify", "--data-dir", dataDir)
	if r.code != 0 || !strings.Contains(r.stdout, "audit log intact") {
		t.Fatalf("verify after shutdown: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A restart reuses the same certificate.
	again, _ := os.ReadFile(filepath.Join(dataDir, "tls", "dev-cert.pem"))
	if !bytes.Equal(again, pemBytes) {
		t.Fatal("certificate changed")
	}
}

func TestAuditVerifyCommandDetectsTampering(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			inst := instance(t, d)
			r := rampart(t, nil, withArgs(inst, "admin", "org", "create", "--name", "Acme", "--slug", "acme", "--json")...)
			if r.code != 0 {
				t.Fatalf("org create: %d %s", r.code, r.stderr)
			}
			var org struct{ ID, Slug string }
			if err := json.Unmarshal([]byte(r.stdout), &org); err != nil || org.ID == "" || org.Slug != "acme" {
				t.Fatalf("org create output %q: %v", r.stdout, err)
			}
			for range 3 {
				if r := rampart(t, nil, withArgs(inst, "keys", "rotate", "--org", "acme")...); r.code != 0 {
					t.Fatalf("rotate: %d %s", r.code, r.stderr)
				}
			}
			if r := rampart(t, nil, withArgs(inst, "audit", "verify", "--org", "acme")...); r.code != 0 {
				t.Fatalf("intact log: exit %d %s %s", r.code, r.stdout, r.stderr)
			}
			db := openInstanceDB(t, inst)
			tamper(t, db, "UPDATE audit_events SET actor = 'user:mallory' WHERE org_id = ? AND seq = 3", org.ID)
			r = rampart(t, nil, withArgs(inst, "audit", "verify", "--org", "acme")...)
			if r.code != exitTampered || !strings.Contains(r.stderr, "entry 3") || !strings.Contains(r.stdout, "ALTERED") {
				t.Fatalf("altered entry: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			tamper(t, db, "UPDATE audit_events SET actor = 'operator:cli' WHERE org_id = ? AND seq = 3", org.ID)
			tamper(t, db, "DELETE FROM audit_events WHERE org_id = ? AND seq = 2", org.ID)
			r = rampart(t, nil, withArgs(inst, "audit", "verify")...)
			if r.code != exitTampered || !strings.Contains(r.stderr, "entry 2") || !strings.Contains(r.stdout, "REMOVED") {
				t.Fatalf("deleted entry: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func openInstanceDB(t *testing.T, inst []string) *store.DB {
	t.Helper()
	opts := store.Options{SQLitePath: filepath.Join(inst[1], "rampart.db")}
	if len(inst) > 2 {
		opts = store.Options{PostgresURL: inst[3]}
	}
	db, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func tamper(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeysCommands(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			inst := instance(t, d)
			if r := rampart(t, nil, withArgs(inst, "keys", "status")...); r.code == 0 {
				t.Fatalf("keys status on a missing instance succeeded: %s", r.stdout)
			}
			rampart(t, nil, withArgs(inst, "migrate")...)
			rampart(t, nil, withArgs(inst, "admin", "org", "create", "--name", "Beta", "--slug", "beta")...)
			r := rampart(t, nil, withArgs(inst, "keys", "rotate", "--org", "beta", "--json")...)
			if r.code != 0 || !strings.Contains(r.stdout, `"version": 2`) {
				t.Fatalf("rotate: %d %s %s", r.code, r.stdout, r.stderr)
			}
			r = rampart(t, nil, withArgs(inst, "keys", "status", "--json")...)
			var st struct {
				RootKey       string `json:"root_key"`
				Organizations []struct {
					Version  int `json:"version"`
					AEADKeys int `json:"aead_keys"`
				} `json:"organizations"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Organizations) != 1 || st.Organizations[0].AEADKeys != 2 {
				t.Fatalf("status: %s (%v)", r.stdout, err)
			}
			if r := rampart(t, nil, withArgs(inst, "keys", "rotate", "--org", "nobody")...); r.code != exitFailure || !strings.Contains(r.stderr, "no organization") {
				t.Fatalf("rotate unknown org: %d %s", r.code, r.stderr)
			}
		})
	}
}

func TestConfigPrintRedactsSecrets(t *testing.T) {
	r := rampart(t, []string{"RAMPART_DATABASE_URL=postgres://app:s3cr3t-pw@db.internal/rampart"}, "config", "print")
	if r.code != 0 || strings.Contains(r.stdout, "s3cr3t-pw") || !strings.Contains(r.stdout, "[REDACTED]") {
		t.Fatalf("config print: %d %q", r.code, r.stdout)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	found := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "database_url:") {
			found = true
		}
	}
	if !found {
		t.Fatal("database_url missing from config print")
	}
}
