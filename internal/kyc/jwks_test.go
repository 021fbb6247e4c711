package kyc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestJWKSFromURLPicksUpARotatedKey: known key ids are served from the
// cache; an unknown one (the gateway rotated its key) makes the source
// fetch again, but not more often than jwksMinRefetch.
func TestJWKSFromURLPicksUpARotatedKey(t *testing.T) {
	key := func(id string) jose.JSONWebKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: id, Algorithm: "ES256", Use: "sig"}
	}
	var mu sync.Mutex
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key("k1")}}
	var fetches atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	ctx := context.Background()
	keys := JWKSFromURL(srv.URL, srv.Client())

	if got, err := keys(ctx, "k1"); err != nil || len(got.Key("k1")) != 1 || fetches.Load() != 1 {
		t.Fatalf("first: %v %d fetches", err, fetches.Load())
	}
	if _, _ = keys(ctx, "k1"); fetches.Load() != 1 {
		t.Fatalf("a known key id fetched again: %d", fetches.Load())
	}
	// The gateway rotates; within jwksMinRefetch an unknown id is not fetched.
	mu.Lock()
	set.Keys = append(set.Keys, key("k2"))
	mu.Unlock()
	if got, _ := keys(ctx, "k2"); len(got.Key("k2")) != 0 || fetches.Load() != 1 {
		t.Fatalf("unknown id refetched within the minimum interval: %d fetches", fetches.Load())
	}
	defer func(old time.Duration) { jwksMinRefetch = old }(jwksMinRefetch)
	jwksMinRefetch = 0
	if got, err := keys(ctx, "k2"); err != nil || len(got.Key("k2")) != 1 || fetches.Load() != 2 {
		t.Fatalf("rotated key not picked up: %v %d fetches", err, fetches.Load())
	}
}
