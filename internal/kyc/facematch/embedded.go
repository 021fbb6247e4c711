package facematch

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// DistanceScale maps a descriptor distance d to the score 1 - d/DistanceScale.
// face-api's documented decision distance is 0.6 (a smaller distance is
// the same person), which this scale puts at score 0.5: the default
// threshold.
const DistanceScale = 1.2

// EmbeddedConfig starts the face service.
type EmbeddedConfig struct {
	Node       string        // node binary; "" looks up "node" in PATH
	ServiceDir string        // directory holding server.js and node_modules (npm ci done)
	StartWait  time.Duration // how long model loading may take; 0 means 60s
	Timeout    time.Duration // per comparison; 0 means 30s
	MaxBytes   int64         // largest request (both images); 0 means 24 MiB
	Log        *slog.Logger
}

// Embedded is the face-api matcher in a child Node process.
type Embedded struct {
	cfg    EmbeddedConfig
	dir    string // private directory of the socket
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	client *http.Client
	done   chan struct{} // closed when the child exits
	mu     sync.Mutex
	err    error // why the child exited
}

// StartEmbedded starts the face service and waits until its models are
// loaded. It returns errs.Unavailable when node or the service's packages
// are missing, or the service does not become healthy in time.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	const op = "facematch.StartEmbedded"
	if cfg.StartWait <= 0 {
		cfg.StartWait = 60 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 24 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	node := cfg.Node
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			return nil, errs.E(errs.Unavailable, op, "node is not installed; the embedded face matcher needs Node.js 20", err)
		}
	}
	server := filepath.Join(cfg.ServiceDir, "server.js")
	if _, err := os.Stat(filepath.Join(cfg.ServiceDir, "node_modules", "@vladmandic", "face-api", "package.json")); err != nil {
		return nil, errs.E(errs.Unavailable, op, "the face service's packages are not installed; run npm ci in "+cfg.ServiceDir, err)
	}
	// The socket lives in a fresh 0700 directory: only this user can
	// connect, and no other process can have put a socket there first.
	dir, err := os.MkdirTemp("", "rampart-face-")
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot create the face service's socket directory", err)
	}
	sock := filepath.Join(dir, "face.sock")
	cmd := exec.Command(node, server) // #nosec G204 -- node and server.js come from the operator's configuration
	cmd.Dir = cfg.ServiceDir
	cmd.Env = append(os.Environ(), "RAMPART_FACE_SOCKET="+sock, fmt.Sprintf("RAMPART_FACE_MAX_BYTES=%d", cfg.MaxBytes))
	stderr := &limitedLog{log: cfg.Log}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	stdin, err := cmd.StdinPipe() // the child exits when this closes: never an orphan
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, errs.E(errs.Unavailable, op, "cannot start the face service", err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, errs.E(errs.Unavailable, op, "cannot start the face service", err)
	}
	e := &Embedded{cfg: cfg, dir: dir, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	e.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second, DisableCompression: true,
	}}
	go func() {
		err := cmd.Wait()
		e.mu.Lock()
		e.err = fmt.Errorf("face service exited: %v", err)
		e.mu.Unlock()
		close(e.done)
	}()
	if err := e.waitHealthy(ctx); err != nil {
		e.Close()
		return nil, errs.E(errs.Unavailable, op, "the face service did not start: "+stderr.last(), err)
	}
	return e, nil
}

func (e *Embedded) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StartWait)
	defer cancel()
	for {
		if err := e.Health(ctx); err == nil {
			return nil
		}
		select {
		case <-e.done:
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Health reports whether the service answers with its models loaded.
func (e *Embedded) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://face/healthz", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("face service health: status %d", resp.StatusCode)
	}
	return nil
}

// exitErr says why the child exited (nil while it runs).
func (e *Embedded) exitErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// PID is the child's process id (tests inspect its open files).
func (e *Embedded) PID() int { return e.cmd.Process.Pid }

// Name is "embedded:face-api".
func (e *Embedded) Name() string { return "embedded:face-api" }

type compareAnswer struct {
	FacesA   int      `json:"faces_a"`
	FacesB   int      `json:"faces_b"`
	Distance *float64 `json:"distance"`
	Error    string   `json:"error"`
}

// Match sends both images over the socket and converts the descriptor
// distance to a score (see DistanceScale). The request body, a copy of the
// images, is zeroed after the call.
func (e *Embedded) Match(ctx context.Context, document, selfie []byte) (float64, error) {
	const op = "facematch.Embedded.Match"
	select {
	case <-e.done:
		return 0, errs.E(errs.Unavailable, op, "the face matcher is not running")
	default:
	}
	n := 4 + len(document) + len(selfie)
	if int64(n) > e.cfg.MaxBytes {
		return 0, errs.E(errs.Invalid, op, "the two images together are larger than the face matcher accepts")
	}
	body := make([]byte, n)
	defer clear(body)
	binary.BigEndian.PutUint32(body, uint32(len(document))) // #nosec G115 -- bounded by MaxBytes above
	copy(body[4:], document)
	copy(body[4+len(document):], selfie)
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://face/compare", bytes.NewReader(body))
	req.ContentLength = int64(n)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, errs.E(errs.Unavailable, op, "the face matcher timed out", err)
		}
		return 0, errs.E(errs.Unavailable, op, "the face matcher cannot be reached", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var a compareAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return 0, errs.E(errs.Unavailable, op, "the face matcher gave an unreadable answer", err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		return 0, errs.E(errs.Invalid, op, "the face matcher refused an image ("+a.Error+")")
	case resp.StatusCode != http.StatusOK:
		return 0, errs.E(errs.Unavailable, op, fmt.Sprintf("the face matcher failed (status %d)", resp.StatusCode))
	case a.FacesA == 0:
		return 0, errs.E(errs.Invalid, op, "no face found in the document image")
	case a.FacesB == 0:
		return 0, errs.E(errs.Invalid, op, "no face found in the selfie")
	case a.Distance == nil:
		return 0, errs.E(errs.Unavailable, op, "the face matcher gave no distance")
	}
	return clamp01(1 - *a.Distance/DistanceScale), nil
}

// Close stops the child (its stdin closes, then SIGTERM, then SIGKILL) and
// removes the socket directory.
func (e *Embedded) Close() {
	_ = e.stdin.Close()
	select {
	case <-e.done:
	case <-time.After(2 * time.Second):
		_ = e.cmd.Process.Signal(os.Interrupt)
		select {
		case <-e.done:
		case <-time.After(3 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	}
	e.client.CloseIdleConnections()
	_ = os.RemoveAll(e.dir)
}

// limitedLog forwards the child's stderr lines to the log (the service
// writes only its own status there, never request data) and keeps the last
// one for start-up errors.
type limitedLog struct {
	log      *slog.Logger
	mu       sync.Mutex
	buf      []byte
	lastLine string
}

func (l *limitedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.lastLine = string(l.buf[:min(i, 300)])
		l.log.Warn("face service", "line", l.lastLine)
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 {
		l.buf = l.buf[len(l.buf)-4096:]
	}
	return len(p), nil
}

func (l *limitedLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rest := bytes.TrimSpace(l.buf[:min(len(l.buf), 300)]); len(rest) > 0 {
		return string(rest)
	}
	return l.lastLine
}
