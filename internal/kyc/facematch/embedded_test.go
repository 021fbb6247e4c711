package facematch_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc/facematch"
	"github.com/rampart-platform/rampart/internal/kyc/kyctest"
)

func startEmbedded(t *testing.T) *facematch.Embedded {
	t.Helper()
	node := kyctest.NeedNode(t)
	e, err := facematch.StartEmbedded(context.Background(), facematch.EmbeddedConfig{Node: node, ServiceDir: kyctest.ServiceDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestEmbeddedMatcherSeparatesTheLabelledPairs runs the whole labelled set
// (see kyctest for its provenance) through the real model: every
// same-person pair must score at or above the default threshold 0.58 (kyc.face_threshold) and
// every different-person pair below it.
func TestEmbeddedMatcherSeparatesTheLabelledPairs(t *testing.T) {
	e := startEmbedded(t)
	const threshold = 0.58
	pairs := kyctest.Pairs(t, 0)
	var lat []time.Duration
	correct := 0
	for _, p := range pairs {
		start := time.Now()
		score, err := e.Match(context.Background(), p.Document, p.Selfie)
		lat = append(lat, time.Since(start))
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		ok := (score >= threshold) == p.SamePerson
		if ok {
			correct++
		} else {
			t.Errorf("%s: score %.3f, same person %v", p.Name, score, p.SamePerson)
		}
		t.Logf("%-22s same=%-5v score=%.3f", p.Name, p.SamePerson, score)
	}
	slices.Sort(lat)
	t.Logf("accuracy %d/%d = %.1f%%; match latency p50 %v p99 %v (2 images per match)",
		correct, len(pairs), 100*float64(correct)/float64(len(pairs)), lat[len(lat)/2], lat[len(lat)*99/100])
}

func TestEmbeddedMatcherRefusesAnImageWithoutAFace(t *testing.T) {
	e := startEmbedded(t)
	doc, _ := kyctest.SampleFace(t)
	_, err := e.Match(context.Background(), doc, blankJPEG(t))
	if errs.KindOf(err) != errs.Invalid || err.Error() == "" {
		t.Fatalf("err = %v", err)
	}
	if want := "no face found in the selfie"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v; want %q", err, want)
	}
	if err := e.Health(context.Background()); err != nil {
		t.Errorf("unhealthy after a refusal: %v", err)
	}
}

func TestEmbeddedMatcherAfterCloseIsUnavailable(t *testing.T) {
	e := startEmbedded(t)
	e.Close()
	doc, selfie := kyctest.SampleFace(t)
	if _, err := e.Match(context.Background(), doc, selfie); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("err = %v", err)
	}
}

func TestStartEmbeddedWithoutPackagesSaysWhatToDo(t *testing.T) {
	_, err := facematch.StartEmbedded(context.Background(), facematch.EmbeddedConfig{ServiceDir: t.TempDir()})
	if errs.KindOf(err) != errs.Unavailable || !(strings.Contains(err.Error(), "npm ci") || strings.Contains(err.Error(), "node is not installed")) {
		t.Fatalf("err = %v", err)
	}
}
