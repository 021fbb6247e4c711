// Command login measures password logins against an in-process Rampart
// instance with the default argon2id parameters (m=19 MiB, t=2, p=1):
//
//  1. sequential latency (p50/p99) over -seq logins, one at a time;
//  2. throughput of -conc logins started at once, in -rounds rounds;
//  3. the process's resident memory during those rounds (VmRSS sampled
//     every -sample, and VmHWM), against the bound that the password
//     hasher's semaphore sets (password.Hasher.MemoryBound).
//
// It starts the server on 127.0.0.1 with a fresh SQLite data directory in
// a temporary directory (removed afterwards), talks to it only through
// 127.0.0.1, and stops by itself: the request counts are fixed and the
// whole run is bounded by -timeout.
//
//	go run ./bench/login                  # defaults: -seq 100 -conc 200 -rounds 3
//	go run ./bench/login -conc 200 -rounds 1
//
// Every login succeeds (the lockout counters only count failures). Results
// and the exact command are recorded in docs/benchmarks.md.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
)

const (
	orgSlug  = "bench"
	email    = "bench.user@bench.test"
	passwd   = "a quite long benchmark passphrase 42"
	mib      = 1 << 20
	procFile = "/proc/self/status"
)

type options struct {
	seq, conc, rounds, warmup int
	sample, timeout           time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.seq, "seq", 100, "sequential logins to time")
	flag.IntVar(&o.conc, "conc", 200, "logins started at once in each concurrent round")
	flag.IntVar(&o.rounds, "rounds", 3, "concurrent rounds")
	flag.IntVar(&o.warmup, "warmup", 5, "untimed logins first")
	flag.DurationVar(&o.sample, "sample", 10*time.Millisecond, "RSS sampling interval")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "login bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.seq < 1 || o.conc < 1 || o.rounds < 1 || o.warmup < 0 || o.sample <= 0 {
		return errors.New("-seq, -conc and -rounds must be at least 1, -warmup at least 0, -sample positive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "rampart-login-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	rssStart := readStatus()["VmRSS"]
	srv, stop, err := startServer(ctx, filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer stop()
	if err := seedUser(ctx, srv); err != nil {
		return err
	}
	phc, err := storedHash(ctx, srv.Data().DB)
	if err != nil {
		return err
	}
	c, err := newClient(srv, dir, o.conc)
	if err != nil {
		return err
	}

	// The same wiring as internal/app.OpenData: default parameters, two
	// concurrent hashes per core.
	bound := password.NewHasher(password.DefaultParams(), 2*runtime.NumCPU()).MemoryBound()
	p := password.DefaultParams()
	fmt.Printf("rampart login benchmark: %s/%s, %d CPUs, GOMAXPROCS=%d, GOGC=%s, GOMEMLIMIT=%s, %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), envOr("GOGC", "100"), envOr("GOMEMLIMIT", "off"), runtime.Version())
	fmt.Printf("load average at start: %s\n", loadAvg())
	fmt.Printf("argon2id parameters: m=%d KiB (%.0f MiB), t=%d, p=%d; stored hash: %s\n", p.Memory, float64(p.Memory)/1024, p.Time, p.Threads, phcParams(phc))
	fmt.Printf("hasher semaphore: %d concurrent hashes = MemoryBound %.0f MiB\n\n", 2*runtime.NumCPU(), float64(bound)/mib)

	// (a) Sequential latency.
	for range o.warmup {
		if _, err := c.login(ctx); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, 0, o.seq)
	t0 := time.Now()
	for range o.seq {
		d, err := c.login(ctx)
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	seqWall := time.Since(t0)
	fmt.Printf("(a) sequential: %d logins in %s: p50 %s, p99 %s, min %s, max %s, mean %s (%.1f logins/s)\n",
		o.seq, seqWall.Round(time.Millisecond), pct(lat, 50), pct(lat, 99), pct(lat, 0), pct(lat, 100),
		(seqWall / time.Duration(o.seq)).Round(100*time.Microsecond), float64(o.seq)/seqWall.Seconds())

	// Open the connections first, so the concurrent rounds measure logins
	// rather than TLS handshakes; note what that costs in memory.
	rssBeforeConns := readStatus()["VmRSS"]
	connPeak, err := sampled(o.sample, func() error { return c.burst(ctx, o.conc, c.health) })
	if err != nil {
		return err
	}
	rssIdle := readStatus()["VmRSS"]
	fmt.Printf("\nRSS: %.1f MiB at start, %.1f MiB with the server and user ready, %.1f MiB peak while opening %d connections (GET /healthz), %.1f MiB idle after\n",
		kib(rssStart), kib(rssBeforeConns), kib(connPeak.rss), o.conc, kib(rssIdle))

	// (b) and (c): concurrent rounds with memory sampling.
	var rates []float64
	var peaks []int64
	for round := 1; round <= o.rounds; round++ {
		// Start each round from a heap that holds no argon2 memory and has
		// given freed pages back, so the peak minus this is what the round
		// added.
		debug.FreeOSMemory()
		base := readStatus()["VmRSS"]
		var lats []time.Duration
		var wall time.Duration
		pk, err := sampled(o.sample, func() error {
			var err error
			lats, wall, err = c.concurrentLogins(ctx, o.conc)
			return err
		})
		if err != nil {
			return err
		}
		rate := float64(o.conc) / wall.Seconds()
		rates, peaks = append(rates, rate), append(peaks, pk.rss)
		fmt.Printf("(b) round %d: %d concurrent logins in %s = %.1f logins/s; latency p50 %s, p99 %s, max %s\n",
			round, o.conc, wall.Round(time.Millisecond), rate, pct(lats, 50), pct(lats, 99), pct(lats, 100))
		fmt.Printf("(c) round %d: RSS %.1f MiB before, peak %.1f MiB (+%.1f MiB); Go heap objects peak %.1f MiB, live heap after last GC peak %.1f MiB; %d samples\n",
			round, kib(base), kib(pk.rss), kib(pk.rss-base), float64(pk.heapObjects)/mib, float64(pk.heapLive)/mib, pk.samples)
	}
	st := readStatus()
	fmt.Printf("\nsummary: sequential p50 %s p99 %s; concurrent %s logins/s (rounds); peak RSS %s MiB (rounds), VmHWM %.1f MiB over the whole run; semaphore bound %.0f MiB of argon2 memory at once\n",
		pct(lat, 50), pct(lat, 99), joinFloats(rates, "%.1f"), joinKiB(peaks), kib(st["VmHWM"]), float64(bound)/mib)
	fmt.Printf("load average at end: %s\n", loadAvg())
	return nil
}

// startServer runs a fresh instance on 127.0.0.1 with a random port.
func startServer(ctx context.Context, dataDir string) (*app.Server, func(), error) {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.Listen.HTTP = config.ListenOff
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, err := app.Start(sctx, cfg, log, io.Discard)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "login bench: serve:", err)
		}
	}
	return srv, stop, nil
}

func seedUser(ctx context.Context, srv *app.Server) error {
	d := srv.Data()
	org, err := d.CreateOrganization(ctx, "operator:bench", "Benchmark", orgSlug)
	if err != nil {
		return err
	}
	_, err = d.Identity.CreateUserAsOperator(ctx, "operator:bench", org.ID, identity.NewUser{Email: email, Password: passwd, Roles: []string{"member"}})
	return err
}

// storedHash reads the user's PHC string, to show the parameters really used.
func storedHash(ctx context.Context, db *store.DB) (string, error) {
	var phc string
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT password_hash FROM users WHERE email = ?", email).Scan(&phc)
	})
	return phc, err
}

// phcParams is the "$argon2id$v=19$m=...,t=...,p=..." part of a PHC string,
// without salt and hash.
func phcParams(phc string) string {
	parts := strings.Split(phc, "$")
	if len(parts) < 4 {
		return "unreadable"
	}
	return strings.Join(parts[:4], "$")
}

// client talks to the instance through 127.0.0.1 only.
type client struct {
	http *http.Client
	base string
}

func newClient(srv *app.Server, dir string, conns int) (*client, error) {
	pemBytes, err := os.ReadFile(filepath.Join(dir, "data", "tls", "dev-cert.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("cannot read the development certificate")
	}
	addr := srv.HTTPSAddr().String()
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("server listens on %s, not 127.0.0.1", addr)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		// The certificate names localhost; every connection still goes to
		// the bound 127.0.0.1 address whatever the URL says.
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns + 10,
		MaxIdleConnsPerHost: conns + 10,
		IdleConnTimeout:     time.Minute,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: time.Minute}, base: "https://" + addr}, nil
}

var loginBody = []byte(`{"organization":"` + orgSlug + `","email":"` + email + `","password":"` + passwd + `"}`)

// login signs in once and returns how long the request took.
func (c *client) login(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/auth/login", bytes.NewReader(loginBody))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("login: status %d: %s", resp.StatusCode, body)
	}
	return d, nil
}

func (c *client) health(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/healthz", nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("healthz: status %d", resp.StatusCode)
	}
	return time.Since(t0), nil
}

// burst runs n calls of fn released at the same moment and returns their
// latencies and the wall time from release to the last answer.
func (c *client) burstTimed(ctx context.Context, n int, fn func(context.Context) (time.Duration, error)) ([]time.Duration, time.Duration, error) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	lats := make([]time.Duration, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			lats[i], errs[i] = fn(ctx)
		}()
	}
	t0 := time.Now()
	close(release)
	wg.Wait()
	return lats, time.Since(t0), errors.Join(errs...)
}

func (c *client) burst(ctx context.Context, n int, fn func(context.Context) (time.Duration, error)) error {
	_, _, err := c.burstTimed(ctx, n, fn)
	return err
}

func (c *client) concurrentLogins(ctx context.Context, n int) ([]time.Duration, time.Duration, error) {
	return c.burstTimed(ctx, n, c.login)
}

// peak is what the sampler saw.
type peak struct {
	rss         int64  // KiB, VmRSS
	heapObjects uint64 // bytes, /memory/classes/heap/objects:bytes (live and not yet swept)
	heapLive    uint64 // bytes, /gc/heap/live:bytes (marked live at the last GC)
	samples     int
}

// sampled runs fn while reading VmRSS and the Go heap every interval, and
// returns the peaks.
func sampled(interval time.Duration, fn func() error) (peak, error) {
	var pk peak
	var mu sync.Mutex
	ms := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	take := func() {
		rss := readStatus()["VmRSS"]
		metrics.Read(ms)
		mu.Lock()
		defer mu.Unlock()
		pk.samples++
		pk.rss = max(pk.rss, rss)
		if ms[0].Value.Kind() == metrics.KindUint64 {
			pk.heapObjects = max(pk.heapObjects, ms[0].Value.Uint64())
		}
		if ms[1].Value.Kind() == metrics.KindUint64 {
			pk.heapLive = max(pk.heapLive, ms[1].Value.Uint64())
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			take()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := fn()
	close(stop)
	<-done
	take()
	mu.Lock()
	defer mu.Unlock()
	return pk, err
}

// readStatus returns the kB fields of /proc/self/status (VmRSS, VmHWM, ...).
func readStatus() map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(procFile)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				out[name] = n
			}
		}
	}
	return out
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// pct returns the q-th percentile (nearest rank; 0 is the minimum, 100 the
// maximum).
func pct(d []time.Duration, q int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (q*len(s)+99)/100 - 1
	i = min(max(i, 0), len(s)-1)
	return s[i].Round(100 * time.Microsecond)
}

func kib(n int64) float64 { return float64(n) / 1024 }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func joinFloats(v []float64, format string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, " / ")
}

func joinKiB(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", kib(x))
	}
	return strings.Join(s, " / ")
}
