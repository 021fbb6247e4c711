package facematch

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc/kyctest"
)

// TestSupervisedMatcherRestartsACrashedService: the Node child is killed;
// within the back-off the matcher answers Unavailable, then the next
// comparison starts a new child and succeeds.
func TestSupervisedMatcherRestartsACrashedService(t *testing.T) {
	node := kyctest.NeedNode(t)
	defer func(old time.Duration) { restartBackoff = old }(restartBackoff)
	restartBackoff = time.Hour
	s, err := StartSupervised(context.Background(), EmbeddedConfig{Node: node, ServiceDir: kyctest.ServiceDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc, selfie := kyctest.SampleFace(t)
	if _, err := s.Match(context.Background(), doc, selfie); err != nil {
		t.Fatal(err)
	}
	first := s.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.cur.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed child was not noticed")
	}
	if _, err := s.Match(context.Background(), doc, selfie); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("within the back-off: %v, want unavailable", err)
	}
	restartBackoff = 0
	score, err := s.Match(context.Background(), doc, selfie)
	if err != nil || score <= 0 {
		t.Fatalf("after the restart: %v %v", score, err)
	}
	if s.PID() == first {
		t.Fatal("no new child")
	}
	s.Close()
	if _, err := s.Match(context.Background(), doc, selfie); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("after Close: %v", err)
	}
}
