package facematch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
)

// restartBackoff is the least time between two restarts of a face service
// that keeps dying, so a broken installation does not spin.
var restartBackoff = 10 * time.Second

// Supervised is the embedded matcher with a keeper: when the Node child
// has exited (crashed, killed, out of memory), the next comparison starts
// a new one before answering, at most once per restartBackoff; until then
// comparisons answer errs.Unavailable.
type Supervised struct {
	cfg EmbeddedConfig

	mu        sync.Mutex
	cur       *Embedded
	lastStart time.Time
	closed    bool
}

// StartSupervised starts the face service (as StartEmbedded) and keeps it
// running.
func StartSupervised(ctx context.Context, cfg EmbeddedConfig) (*Supervised, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	e, err := StartEmbedded(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Supervised{cfg: cfg, cur: e, lastStart: time.Now()}, nil
}

// current returns a running child, restarting a dead one when allowed.
func (s *Supervised) current(ctx context.Context) (*Embedded, error) {
	const op = "facematch.Supervised"
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errs.E(errs.Unavailable, op, "the face matcher is stopped")
	}
	select {
	case <-s.cur.done:
	default:
		return s.cur, nil
	}
	if time.Since(s.lastStart) < restartBackoff {
		return nil, errs.E(errs.Unavailable, op, "the face matcher stopped and is restarting; try again shortly")
	}
	s.cfg.Log.Warn("the face service exited; restarting it", "err", s.cur.exitErr())
	s.cur.Close()
	s.lastStart = time.Now()
	e, err := StartEmbedded(context.WithoutCancel(ctx), s.cfg)
	if err != nil {
		s.cfg.Log.Error("restarting the face service failed", "err", err)
		return nil, err
	}
	s.cur = e
	return e, nil
}

// Match implements kyc.FaceMatcher.
func (s *Supervised) Match(ctx context.Context, document, selfie []byte) (float64, error) {
	e, err := s.current(ctx)
	if err != nil {
		return 0, err
	}
	return e.Match(ctx, document, selfie)
}

// Name is "embedded:face-api".
func (s *Supervised) Name() string { return "embedded:face-api" }

// Health reports whether a child is running and answers.
func (s *Supervised) Health(ctx context.Context) error {
	e, err := s.current(ctx)
	if err != nil {
		return err
	}
	return e.Health(ctx)
}

// PID is the current child's process id.
func (s *Supervised) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.PID()
}

// Close stops the child for good.
func (s *Supervised) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.cur.Close()
	}
}
