package facematch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/kyc/facematch"
)

const testKey = "test-subscription-key-0123456789"

// fakeFace implements the Azure Face detect + verify shapes. An image
// whose first byte is 'A'...'Z' has one face of that person; '0' has none.
type fakeFace struct {
	failFirst  int32 // answer this many calls with 503 first
	calls      atomic.Int32
	retryAfter string
	status     int // answer every call with this status when non-zero
}

func (f *fakeFace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	if r.Header.Get("Ocp-Apim-Subscription-Key") != testKey {
		http.Error(w, `{"error":{"code":"401"}}`, http.StatusUnauthorized)
		return
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		return
	}
	if n <= f.failFirst {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/face/v1.0/detect":
		if r.URL.Query().Get("returnFaceId") != "true" || r.Header.Get("Content-Type") != "application/octet-stream" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if len(b) == 0 || b[0] == '0' {
			_, _ = io.WriteString(w, "[]")
			return
		}
		_, _ = fmt.Fprintf(w, `[{"faceId":"face-%c","faceRectangle":{"top":1,"left":1,"width":10,"height":10}}]`, b[0])
	case "/face/v1.0/verify":
		var in struct{ FaceID1, FaceID2 string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if in.FaceID1 == in.FaceID2 {
			_, _ = io.WriteString(w, `{"isIdentical":true,"confidence":0.91}`)
		} else {
			_, _ = io.WriteString(w, `{"isIdentical":false,"confidence":0.12}`)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func remote(t *testing.T, f *fakeFace, key facematch.Secret) *facematch.Remote {
	t.Helper()
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	r, err := facematch.NewRemote(facematch.RemoteConfig{Endpoint: srv.URL + "/", Key: key, Client: srv.Client(), Timeout: 2 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRemoteMatcherUsesTheVerifyShape(t *testing.T) {
	r := remote(t, &fakeFace{}, testKey)
	same, err := r.Match(context.Background(), []byte("A-doc"), []byte("A-selfie"))
	if err != nil || same != 0.91 {
		t.Fatalf("same person: %v, %v", same, err)
	}
	other, err := r.Match(context.Background(), []byte("A-doc"), []byte("B-selfie"))
	if err != nil || other != 0.12 {
		t.Fatalf("other person: %v, %v", other, err)
	}
	if _, err := r.Match(context.Background(), []byte("A"), []byte("0")); errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "no face found in the selfie") {
		t.Fatalf("no face: %v", err)
	}
}

func TestRemoteMatcherRetriesWithBackoff(t *testing.T) {
	f := &fakeFace{failFirst: 2}
	r := remote(t, f, testKey)
	if s, err := r.Match(context.Background(), []byte("A"), []byte("A")); err != nil || s != 0.91 {
		t.Fatalf("%v %v", s, err)
	}
	if got := f.calls.Load(); got != 5 { // 2 failures + detect, detect, verify
		t.Errorf("calls = %d", got)
	}
	f = &fakeFace{failFirst: 100}
	r = remote(t, f, testKey)
	_, err := r.Match(context.Background(), []byte("A"), []byte("A"))
	if errs.KindOf(err) != errs.Unavailable || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if got := f.calls.Load(); got != 3 {
		t.Errorf("calls = %d; attempts are bounded at 3", got)
	}
}

func TestRemoteMatcherHonoursRetryAfter(t *testing.T) {
	f := &fakeFace{failFirst: 1, retryAfter: "1"}
	r := remote(t, f, testKey)
	start := time.Now()
	if _, err := r.Match(context.Background(), []byte("A"), []byte("A")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v; Retry-After said 1s", d)
	}
}

func TestRemoteMatcherDoesNotRetryAClientError(t *testing.T) {
	f := &fakeFace{status: http.StatusBadRequest}
	r := remote(t, f, testKey)
	if _, err := r.Match(context.Background(), []byte("A"), []byte("A")); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("err = %v", err)
	}
	if f.calls.Load() != 1 {
		t.Errorf("calls = %d", f.calls.Load())
	}
}

func TestRemoteMatcherWrongKeyNeverShowsTheKey(t *testing.T) {
	r := remote(t, &fakeFace{}, "wrong-key-SECRETVALUE")
	_, err := r.Match(context.Background(), []byte("A"), []byte("A"))
	if errs.KindOf(err) != errs.Unavailable || strings.Contains(fmt.Sprintf("%v %+v", err, err), "SECRETVALUE") {
		t.Fatalf("err = %v", err)
	}
	cfg := facematch.RemoteConfig{Endpoint: "https://face.example", Key: "SECRETVALUE"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "SECRETVALUE") {
			t.Errorf("key printed: %s", s)
		}
	}
}

func TestRemoteMatcherTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	r, err := facematch.NewRemote(facematch.RemoteConfig{Endpoint: srv.URL, Key: testKey, Client: srv.Client(), Timeout: 100 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := r.Match(context.Background(), []byte("A"), []byte("A")); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestNewRemoteRefusesPlainHTTPAndMissingKey(t *testing.T) {
	for _, cfg := range []facematch.RemoteConfig{
		{Endpoint: "http://face.example", Key: "k"},
		{Endpoint: "https://user:pw@face.example", Key: "k"},
		{Endpoint: "https://face.example"},
	} {
		if _, err := facematch.NewRemote(cfg); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: err = %v", cfg.Endpoint, err)
		}
	}
}
