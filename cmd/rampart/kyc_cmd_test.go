package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"image"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/kyc/kyctest"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func TestKYCServiceListensOnlyOnLoopbackOrAUnixSocket(t *testing.T) {
	for _, s := range []string{"127.0.0.1:9100", "[::1]:0", "localhost:9100", "127.8.0.1:1", "unix:/run/rampart/kyc.sock"} {
		if _, _, err := kycListenAddr(s); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	for _, s := range []string{"0.0.0.0:9100", ":9100", "[::]:9100", "192.168.1.10:9100", "10.0.0.1:80", "kyc.example.com:443", "unix:relative.sock", "nonsense"} {
		if _, _, err := kycListenAddr(s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
	r := rampart(t, nil, "kyc-service", "--listen", "0.0.0.0:9100", "--data-dir", filepath.Join(t.TempDir(), "data"))
	if r.code == 0 || !strings.Contains(r.stderr, `refusing to listen on "0.0.0.0:9100": the verification service listens only on loopback or a Unix socket`) ||
		!strings.Contains(r.stderr, "hint: it is reachable only through the API gateway") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

type constMatcher float64

func (m constMatcher) Name() string                                           { return "const" }
func (m constMatcher) Match(context.Context, []byte, []byte) (float64, error) { return float64(m), nil }

// TestKYCServiceAcceptsOnlyTheGatewaysAssertionWithTheScope drives the
// internal service's handler as the gateway would: only a fresh assertion
// signed by the gateway key, for this audience, with kyc.verify, passes.
func TestKYCServiceAcceptsOnlyTheGatewaysAssertionWithTheScope(t *testing.T) {
	db := testutil.OpenDB(t, store.SQLite)
	now := time.Now()
	k := testutil.NewKernel(t, db, func() time.Time { return now })
	const org = "00000000-0000-4000-8000-0000000000c1"
	k.CreateOrg(t, db, org, "acme")
	svc := kyc.New(db, k.Audit, nil, constMatcher(0.9), 0.58, kyc.DefaultLimits, time.Now)

	gatewayKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := filepath.Join(t.TempDir(), "gateway-keys.json")
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &gatewayKey.PublicKey, KeyID: "gw1", Algorithm: "ES256", Use: "sig"}}})
	if err := os.WriteFile(jwks, b, 0o600); err != nil {
		t.Fatal(err)
	}
	const issuer = "https://id.example.com/"
	v, err := kycAssertionVerifier(defaultConfigWithPublicURL("https://id.example.com"), kycServiceOptions{keys: jwks, audience: "/gw/kyc/"})
	if err != nil {
		t.Fatal(err)
	}
	h := kycServiceHandler(svc, slog.New(slog.DiscardHandler), v)

	sign := func(key *ecdsa.PrivateKey, aud, scope string, exp time.Time) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "gw1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		claims := struct {
			jwt.Claims
			Org      string `json:"org"`
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
		}{jwt.Claims{Issuer: issuer, Subject: "client-1", Audience: jwt.Audience{aud}, Expiry: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(now)}, org, "client-1", scope}
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name      string
		assertion string
		status    int
	}{
		{"no assertion (a direct call, not through the gateway)", "", 401},
		{"garbage", "not-a-jwt", 401},
		{"signed by another key", sign(otherKey, "/gw/kyc/", "kyc.verify", now.Add(time.Minute)), 401},
		{"for another route", sign(gatewayKey, "/gw/other/", "kyc.verify", now.Add(time.Minute)), 401},
		{"expired", sign(gatewayKey, "/gw/kyc/", "kyc.verify", now.Add(-2*time.Minute)), 401},
		{"a token without kyc.verify", sign(gatewayKey, "/gw/kyc/", "records.read", now.Add(time.Minute)), 403},
		{"the gateway's assertion with kyc.verify", sign(gatewayKey, "/gw/kyc/", "records.read kyc.verify", now.Add(time.Minute)), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ctype := kycMultipart(t)
			req := httptest.NewRequest("POST", "/verifications", body)
			req.Header.Set("Content-Type", ctype)
			if tt.assertion != "" {
				req.Header.Set(kyc.IdentityHeader, tt.assertion)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if tt.status == 200 && !strings.Contains(rec.Body.String(), `"decision":"verified"`) {
				t.Errorf("body %s", rec.Body)
			}
			if tt.status != 200 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("body %s", rec.Body)
			}
		})
	}
}

func kycMultipart(t *testing.T) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, name := range []string{"document", "selfie"} {
		w, _ := mw.CreateFormFile(name, name+".png")
		_ = png.Encode(w, image.NewGray(image.Rect(0, 0, 16, 16)))
	}
	_ = mw.WriteField("mrz", kyctest.ValidMRZ)
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

func defaultConfigWithPublicURL(u string) config.Config {
	c := config.Default()
	c.PublicURL = u
	return c
}
