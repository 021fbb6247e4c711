package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// fakeVerifier accepts "good-<client>" tokens with scope echo.read.
type fakeVerifier struct{}

func (fakeVerifier) VerifyAccessToken(_ context.Context, token string) (oidc.AccessClaims, error) {
	client, ok := strings.CutPrefix(token, "good-")
	if !ok {
		return oidc.AccessClaims{}, errs.E(errs.Unauthorized, "test", "bad token")
	}
	scopes := []string{"echo.read"}
	if client == "noscope" {
		scopes = nil
	}
	return oidc.AccessClaims{ID: "jti", OrgID: "org-a", Subject: client, ClientID: client, Scopes: scopes}, nil
}

func (fakeVerifier) SignAssertion(_ context.Context, a oidc.Assertion) (string, error) {
	return "assertion-for-" + a.ClientID + "@" + a.Audience, nil
}

type seen struct {
	hits   atomic.Int64
	header atomic.Value
	path   atomic.Value
}

func (s *seen) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.header.Store(r.Header.Clone())
		s.path.Store(r.URL.Path)
		n, _ := io.Copy(io.Discard, r.Body)
		_ = json.NewEncoder(w).Encode(map[string]int64{"bytes": n})
	})
}

func newGateway(t *testing.T, routes []Route) *Gateway {
	t.Helper()
	db := testutil.OpenDB(t, store.SQLite)
	k := testutil.NewKernel(t, db, time.Now)
	g, err := New(routes, fakeVerifier{}, nil, k.Audit, db, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func call(g *Gateway, path, token string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	method := "GET"
	if body != nil {
		method = "POST"
	}
	r := httptest.NewRequest(method, path, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

func TestGatewayForwardsOnlyAuthorisedCalls(t *testing.T) {
	var s seen
	up := httptest.NewServer(s.handler())
	defer up.Close()
	// A Unix socket upstream too.
	sock := filepath.Join(t.TempDir(), "up.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var us seen
	usrv := &http.Server{Handler: us.handler(), ReadHeaderTimeout: time.Second}
	go func() { _ = usrv.Serve(ln) }()
	defer usrv.Close()

	g := newGateway(t, []Route{
		{Prefix: "/gw/echo/", Upstream: up.URL + "/base", Scopes: []string{"echo.read"}},
		{Prefix: "/gw/echo/deep/", Upstream: "unix:" + sock, Scopes: []string{"echo.read"}, RateLimit: 1},
	})
	w := call(g, "/gw/echo/a/b?q=1", "good-svc", strings.NewReader(strings.Repeat("x", 1<<20)), map[string]string{
		"X-Rampart-Identity": "forged", "X-Rampart-Org": "org-b", "Cookie": "rampart_session=x", "Forwarded": "for=1.2.3.4;user=admin",
		"X-Forwarded-For": "1.2.3.4"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"bytes":1048576`) || s.path.Load() != "/base/a/b" {
		t.Fatalf("forwarded call: %d %s path %v", w.Code, w.Body.String(), s.path.Load())
	}
	h := s.header.Load().(http.Header)
	if h.Get("X-Rampart-Identity") != "assertion-for-svc@/gw/echo/" || h.Get("X-Rampart-Org") != "" || h.Get("Authorization") != "" ||
		h.Get("Cookie") != "" || h.Get("Forwarded") != "" || strings.Contains(h.Get("X-Forwarded-For"), "1.2.3.4") {
		t.Fatalf("upstream headers: %v", h)
	}
	// The longer prefix wins, over a unix socket, with its rate limit.
	if w := call(g, "/gw/echo/deep/x", "good-svc", nil, nil); w.Code != 200 || us.hits.Load() != 1 {
		t.Fatalf("unix upstream: %d %s", w.Code, w.Body.String())
	}
	if w := call(g, "/gw/echo/deep/x", "good-svc", nil, nil); w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the rate: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	// Another client has its own bucket.
	if w := call(g, "/gw/echo/deep/x", "good-other", nil, nil); w.Code != 200 {
		t.Fatalf("second client: %d", w.Code)
	}
	before := s.hits.Load()
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"a bad token", "bad", 401},
		{"a token without the scope", "good-noscope", 403},
	} {
		w := call(g, "/gw/echo/x", c.token, nil, nil)
		if w.Code != c.status || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %q", c.name, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	if s.hits.Load() != before {
		t.Fatal("a refused call reached the upstream")
	}
	if w := call(g, "/gw/other/x", "good-svc", nil, nil); w.Code != 404 {
		t.Fatalf("no route: %d", w.Code)
	}
}

func TestGatewayRefusesBadRoutes(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	k := testutil.NewKernel(t, db, time.Now)
	for _, r := range []Route{
		{Prefix: "gw/", Upstream: "http://127.0.0.1:1"},
		{Prefix: "/gw/x/", Upstream: "https://127.0.0.1:1"},
		{Prefix: "/gw/x/", Upstream: "unix:/s", InjectSecret: "id", InjectHeader: "X-Key"},
	} {
		if _, err := New([]Route{r}, fakeVerifier{}, nil, k.Audit, db, nil, time.Now); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

type fakeSecrets struct{ calls atomic.Int64 }

func (f *fakeSecrets) UseForGateway(_ context.Context, org, client, id, purpose string) (string, error) {
	f.calls.Add(1)
	if id != "sec-1" || org != "org-a" || purpose != "gateway:/gw/inj/" {
		return "", errs.E(errs.NotFound, "test", "no such secret")
	}
	return "sk_live_xyz", nil
}

func TestGatewayInjectsASecretHeader(t *testing.T) {
	var s seen
	up := httptest.NewServer(s.handler())
	defer up.Close()
	db := testutil.OpenDB(t, store.SQLite)
	k := testutil.NewKernel(t, db, time.Now)
	src := &fakeSecrets{}
	g, err := New([]Route{
		{Prefix: "/gw/inj/", Upstream: up.URL, Scopes: []string{"echo.read"}, InjectSecret: "sec-1", InjectHeader: "X-Api-Key"},
		{Prefix: "/gw/gone/", Upstream: up.URL, InjectSecret: "sec-missing", InjectHeader: "X-Api-Key"},
	}, fakeVerifier{}, src, k.Audit, db, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if w := call(g, "/gw/inj/x", "good-svc", nil, map[string]string{"X-Api-Key": "caller-supplied"}); w.Code != 200 {
		t.Fatalf("inject: %d", w.Code)
	}
	if h := s.header.Load().(http.Header); h.Get("X-Api-Key") != "sk_live_xyz" {
		t.Fatalf("upstream got X-Api-Key %q", h.Get("X-Api-Key"))
	}
	// Refused calls never fetch the secret.
	before := src.calls.Load()
	call(g, "/gw/inj/x", "bad", nil, nil)
	if src.calls.Load() != before {
		t.Fatal("the secret was used for an unauthenticated call")
	}
	hits := s.hits.Load()
	if w := call(g, "/gw/gone/x", "good-svc", nil, nil); w.Code != 502 || s.hits.Load() != hits || strings.Contains(w.Body.String(), "sk_") {
		t.Fatalf("missing secret: %d %s", w.Code, w.Body.String())
	}
}

// TestGatewayBoundsUnauthenticatedFloods: an address sending calls without
// a valid token is answered and audited up to a burst, then refused with
// 429 without a signature check or an audit entry, so it cannot fill the
// audit log; valid tokens from another address are unaffected.
func TestGatewayBoundsUnauthenticatedFloods(t *testing.T) {
	var s seen
	up := httptest.NewServer(s.handler())
	defer up.Close()
	db := testutil.OpenDB(t, store.SQLite)
	k := testutil.NewKernel(t, db, time.Now)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	g, err := New([]Route{{Prefix: "/gw/echo/", Upstream: up.URL, Scopes: []string{"echo.read"}}}, fakeVerifier{}, nil, k.Audit, db, nil,
		func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	entries := func() int {
		var n int
		if err := db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE action = 'gateway.call'").Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	statuses := map[int]int{}
	for range 100 {
		statuses[call(g, "/gw/echo/x", "bad", nil, nil).Code]++
	}
	if statuses[401] != refusedBurst || statuses[429] != 100-refusedBurst {
		t.Fatalf("statuses for 100 bad tokens: %v, want %d x 401 then 429", statuses, refusedBurst)
	}
	if n := entries(); n != refusedBurst {
		t.Fatalf("audit entries after the flood: %d, want %d", n, refusedBurst)
	}
	// A caller elsewhere with a good token still gets through.
	r := httptest.NewRequest("GET", "/gw/echo/x", nil)
	r.RemoteAddr = "10.9.8.7:1234"
	r.Header.Set("Authorization", "Bearer good-svc")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("good token from another address: %d", w.Code)
	}
	// The bucket refills.
	now = now.Add(time.Second)
	if c := call(g, "/gw/echo/x", "bad", nil, nil).Code; c != 401 {
		t.Fatalf("a second later: %d, want 401", c)
	}
}
