// Package gateway is the authenticated reverse proxy in front of internal
// services (PE5, K4): a call reaches an upstream only with a valid access
// token carrying the route's scopes, within the client's rate limit, and
// with the caller's identity replaced by a signed assertion. Every call,
// allowed or not, is audited (route, status, duration, client; never
// bodies).
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/store"
)

// Route maps a path prefix to an internal upstream.
type Route struct {
	Prefix    string   // "/gw/kyc/": the path prefix, ending in "/"
	Upstream  string   // http://127.0.0.1:port[/base] or unix:/path/to.sock
	Scopes    []string // every one is required
	RateLimit float64  // calls per second per client; 0 means unlimited
	// InjectSecret names a credential-vault secret whose value is sent
	// to the upstream in InjectHeader.
	InjectSecret string
	InjectHeader string
}

// Verifier checks bearer tokens (the OIDC provider).
type Verifier interface {
	VerifyAccessToken(ctx context.Context, token string) (oidc.AccessClaims, error)
	SignAssertion(ctx context.Context, a oidc.Assertion) (string, error)
}

// SecretSource yields a vault secret's value for injection; nil disables
// inject_secret (routes that name one are refused at start).
type SecretSource interface {
	UseForGateway(ctx context.Context, org, clientID, secretID, purpose string) (string, error)
}

// IdentityHeader carries the signed identity assertion to the upstream.
const IdentityHeader = "X-Rampart-Identity"

// Gateway serves every configured route.
type Gateway struct {
	routes  []*route
	verify  Verifier
	secrets SecretSource
	audit   *audit.Log
	db      *store.DB
	log     *slog.Logger
	now     func() time.Time

	// refused bounds, per client address, the calls without a valid
	// token that are verified and audited: past refusedRate a second
	// (burst refusedBurst) the gateway answers 429 at once, without a
	// signature check or an audit entry, so a flood of bad tokens can
	// neither fill the audit log nor burn CPU.
	refusedMu sync.Mutex
	refused   map[string]*rate.Limiter
}

const (
	refusedRate  = 5
	refusedBurst = 20
)

// refusalsLeft reports whether ip may still be answered (and audited)
// for a call without a valid token.
func (g *Gateway) refusalsLeft(ip string, now time.Time) bool {
	g.refusedMu.Lock()
	defer g.refusedMu.Unlock()
	l := g.refused[ip]
	return l == nil || l.TokensAt(now) >= 1
}

// countRefusal spends one of ip's refusals.
func (g *Gateway) countRefusal(ip string, now time.Time) {
	g.refusedMu.Lock()
	defer g.refusedMu.Unlock()
	l := g.refused[ip]
	if l == nil {
		if g.refused == nil || len(g.refused) > 100_000 {
			g.refused = map[string]*rate.Limiter{} // bounded memory; buckets refill anyway
		}
		l = rate.NewLimiter(refusedRate, refusedBurst)
		g.refused[ip] = l
	}
	l.AllowN(now, 1)
}

type route struct {
	Route
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New checks the routes and builds their proxies.
func New(routes []Route, v Verifier, secrets SecretSource, auditLog *audit.Log, db *store.DB, log *slog.Logger, now func() time.Time) (*Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{verify: v, secrets: secrets, audit: auditLog, db: db, log: log, now: now}
	for _, r := range routes {
		if !strings.HasPrefix(r.Prefix, "/") || !strings.HasSuffix(r.Prefix, "/") {
			return nil, errs.E(errs.Invalid, "gateway.New", fmt.Sprintf("gateway route %q: the prefix must start and end with /", r.Prefix))
		}
		if r.InjectSecret != "" && secrets == nil {
			return nil, errs.E(errs.Invalid, "gateway.New", fmt.Sprintf("gateway route %q: inject needs the credential vault, which this build does not have", r.Prefix))
		}
		rt := &route{Route: r, limiters: map[string]*rate.Limiter{}}
		p, err := newProxy(r)
		if err != nil {
			return nil, err
		}
		p.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
			log.WarnContext(req.Context(), "gateway upstream failed", "route", r.Prefix, "err", err)
			writeError(w, http.StatusBadGateway, "upstream_unavailable", "the service is unavailable")
		}
		rt.proxy = p
		g.routes = append(g.routes, rt)
	}
	// Longest prefix first, so a more specific route wins.
	slices.SortFunc(g.routes, func(a, b *route) int { return len(b.Prefix) - len(a.Prefix) })
	return g, nil
}

// Prefixes are the route prefixes, for mounting.
func (g *Gateway) Prefixes() []string {
	out := make([]string, 0, len(g.routes))
	for _, r := range g.routes {
		out = append(out, r.Prefix)
	}
	return out
}

func newProxy(r Route) (*httputil.ReverseProxy, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 60 * time.Second}
	var target *url.URL
	if path, ok := strings.CutPrefix(r.Upstream, "unix:"); ok {
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		target = &url.URL{Scheme: "http", Host: "unix"}
	} else {
		u, err := url.Parse(r.Upstream)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, errs.E(errs.Invalid, "gateway.New", fmt.Sprintf("gateway route %q: upstream %q must be http://host:port or unix:/path", r.Prefix, r.Upstream))
		}
		target = u
	}
	return &httputil.ReverseProxy{
		Transport:     transport,
		FlushInterval: -1, // stream both ways
		Rewrite: func(pr *httputil.ProxyRequest) {
			rest := strings.TrimPrefix(pr.In.URL.Path, r.Prefix)
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path = strings.TrimSuffix(target.Path, "/") + "/" + rest
			pr.Out.URL.RawPath = ""
			pr.Out.Host = target.Host
		},
	}, nil
}

// strippedHeaders never reach an upstream from the caller: credentials and
// anything that could pass for an identity.
var strippedHeaders = []string{"Authorization", "Cookie", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Proto", "X-Real-Ip", "X-Forwarded-User", "X-Forwarded-Email", "X-Remote-User", "Proxy-Authorization"}

func (g *Gateway) match(path string) *route {
	for _, r := range g.routes {
		if strings.HasPrefix(path, r.Prefix) {
			return r
		}
	}
	return nil
}

// statusWriter records the status for the audit entry.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	rt := g.match(r.URL.Path)
	if rt == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
		return
	}
	ip := clientIP(r)
	if !g.refusalsLeft(ip, start) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many calls without a valid token; slow down")
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	var claims oidc.AccessClaims
	reason := g.serve(sw, r, rt, &claims)
	if reason == "no_token" || reason == "invalid_token" {
		g.countRefusal(ip, start)
	}
	g.record(r, rt, claims, sw.status, g.now().Sub(start), reason)
}

func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// serve authenticates, authorises and forwards; it returns why a call was
// refused ("" when forwarded).
func (g *Gateway) serve(w *statusWriter, r *http.Request, rt *route, claims *oidc.AccessClaims) string {
	token, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rampart"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "a bearer access token is required")
		return "no_token"
	}
	c, err := g.verify.VerifyAccessToken(r.Context(), token)
	if err != nil {
		if errs.KindOf(err) != errs.Unauthorized {
			g.log.ErrorContext(r.Context(), "gateway token check", "err", err)
			writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
			return "error"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rampart", error="invalid_token", error_description="invalid or expired access token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "invalid or expired access token")
		return "invalid_token"
	}
	*claims = c
	for _, s := range rt.Scopes {
		if !slices.Contains(c.Scopes, s) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="rampart", error="insufficient_scope", scope=%q`, strings.Join(rt.Scopes, " ")))
			writeError(w, http.StatusForbidden, "insufficient_scope", "the token lacks a scope this route requires")
			return "insufficient_scope"
		}
	}
	if wait := rt.allow(c.ClientID, g.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many calls; slow down")
		return "rate_limited"
	}
	assertion, err := g.verify.SignAssertion(r.Context(), oidc.Assertion{OrgID: c.OrgID, Subject: c.Subject, ClientID: c.ClientID,
		Scopes: c.Scopes, Audience: rt.Prefix})
	if err != nil {
		g.log.ErrorContext(r.Context(), "gateway assertion", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
		return "error"
	}
	out := r.Clone(r.Context())
	for _, h := range strippedHeaders {
		out.Header.Del(h)
	}
	for name := range out.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-rampart-") {
			out.Header.Del(name)
		}
	}
	out.Header.Set(IdentityHeader, assertion)
	if rt.InjectSecret != "" {
		v, err := g.secrets.UseForGateway(r.Context(), c.OrgID, c.ClientID, rt.InjectSecret, "gateway:"+rt.Prefix)
		if err != nil {
			g.log.WarnContext(r.Context(), "gateway secret injection", "route", rt.Prefix, "err", err)
			writeError(w, http.StatusBadGateway, "upstream_unavailable", "the service is unavailable")
			return "secret_unavailable"
		}
		out.Header.Set(rt.InjectHeader, v)
	}
	rt.proxy.ServeHTTP(w, out)
	return ""
}

// allow takes one token from the client's bucket, or says how long to wait.
func (rt *route) allow(client string, now time.Time) time.Duration {
	if rt.RateLimit <= 0 {
		return 0
	}
	rt.mu.Lock()
	l := rt.limiters[client]
	if l == nil {
		if len(rt.limiters) > 100_000 {
			clear(rt.limiters) // bounded memory; buckets refill anyway
		}
		l = rate.NewLimiter(rate.Limit(rt.RateLimit), max(1, int(math.Ceil(rt.RateLimit))))
		rt.limiters[client] = l
	}
	rt.mu.Unlock()
	res := l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (g *Gateway) record(r *http.Request, rt *route, c oidc.AccessClaims, status int, d time.Duration, reason string) {
	outcome := audit.Success
	switch {
	case reason != "":
		outcome = audit.Denied
	case status >= 500:
		outcome = audit.Failure
	}
	org, actor := c.OrgID, "anonymous"
	if c.ClientID != "" {
		actor = "client:" + c.ClientID
		if c.Subject != c.ClientID {
			actor = "user:" + c.Subject
		}
	}
	ip := clientIP(r)
	details := map[string]any{"route": rt.Prefix, "method": r.Method, "status": status, "duration_ms": d.Milliseconds(), "client_id": c.ClientID}
	if reason != "" {
		details["reason"] = reason
	}
	ctx := context.WithoutCancel(r.Context())
	if err := g.audit.Record(ctx, g.db, audit.Event{Org: org, Actor: actor, Action: "gateway.call", Target: "route:" + rt.Prefix,
		Outcome: outcome, IP: ip, UserAgent: truncate(r.UserAgent(), 256), Details: details}); err != nil {
		g.log.WarnContext(ctx, "gateway audit failed", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`+"\n", code, msg)
}
