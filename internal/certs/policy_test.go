package certs

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServerConfigIsTheDocumentedPolicy(t *testing.T) {
	cfg := ServerConfig(nil)
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	if cfg.MaxVersion != 0 {
		t.Errorf("MaxVersion = %x, want 0 (TLS 1.3 enabled)", cfg.MaxVersion)
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("suite %s is not ECDHE with AES-GCM or ChaCha20-Poly1305", name)
		}
	}
	if len(cfg.CipherSuites) != 6 {
		t.Errorf("%d suites, want 6 (ECDHE-{ECDSA,RSA} x {AES-128-GCM,AES-256-GCM,ChaCha20})", len(cfg.CipherSuites))
	}
	wantCurves := []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
	if !slices.Equal(cfg.CurvePreferences, wantCurves) {
		t.Errorf("CurvePreferences = %v, want %v", cfg.CurvePreferences, wantCurves)
	}
	if !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("NextProtos = %v", cfg.NextProtos)
	}
	// Each call returns fresh slices: a caller mutating one config cannot
	// weaken another.
	cfg.CipherSuites[0] = tls.TLS_RSA_WITH_AES_128_CBC_SHA
	if ServerConfig(nil).CipherSuites[0] == tls.TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Error("ServerConfig shares its cipher suite slice between calls")
	}
}

// TestHandshakePolicy runs real handshakes against the policy, once with an
// ECDSA and once with an RSA certificate, so that suites refused "because the
// key type does not fit" are also tested where the key type would fit.
func TestHandshakePolicy(t *testing.T) {
	type tc struct {
		name    string
		client  *tls.Config
		wantErr string // substring of the client's error; "" = must succeed
		version uint16
		suite   uint16
		curve   tls.CurveID
	}
	tls12 := func(suites ...uint16) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	}
	common := []tc{
		{name: "a TLS 1.1 client is refused", client: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, wantErr: "protocol version"},
		{name: "a TLS 1.0 client is refused", client: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, wantErr: "protocol version"},
		{name: "TLS 1.3 is negotiated by default with the hybrid post-quantum key exchange", client: &tls.Config{}, version: tls.VersionTLS13, curve: tls.X25519MLKEM768},
		{name: "TLS 1.3 works with classic X25519", client: &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}, version: tls.VersionTLS13, curve: tls.X25519},
		{name: "a client offering only P-521 is refused", client: &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP521}}, wantErr: "handshake failure"},
		{name: "TLS 1.2 static RSA key exchange (no forward secrecy) is refused", client: tls12(tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384), wantErr: "handshake failure"},
		{name: "TLS 1.2 ECDHE-ECDSA CBC-SHA256 is refused", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256), wantErr: "handshake failure"},
		{name: "TLS 1.2 ECDHE-ECDSA CBC-SHA is refused", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA), wantErr: "handshake failure"},
		{name: "TLS 1.2 ECDHE-RSA CBC-SHA256 is refused", client: tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256), wantErr: "handshake failure"},
		{name: "TLS 1.2 ECDHE-RSA CBC-SHA is refused", client: tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA), wantErr: "handshake failure"},
		{name: "TLS 1.2 3DES is refused", client: tls12(tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA), wantErr: "handshake failure"},
		{name: "TLS 1.2 RC4 is refused", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA), wantErr: "handshake failure"},
	}
	certs := []struct {
		name string
		spec pairSpec
		good []tc
	}{
		{name: "ECDSA certificate", spec: pairSpec{}, good: []tc{
			{name: "TLS 1.2 ECDHE-ECDSA-AES128-GCM works", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			{name: "TLS 1.2 ECDHE-ECDSA-AES256-GCM works", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
			{name: "TLS 1.2 ECDHE-ECDSA-ChaCha20 works", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
			{name: "TLS 1.2 prefers a good suite when CBC is also offered", client: tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			{name: "TLS 1.2 with P-256 works", client: &tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256}}, version: tls.VersionTLS12, curve: tls.CurveP256},
		}},
		{name: "RSA certificate", spec: pairSpec{rsaBits: 2048}, good: []tc{
			{name: "TLS 1.2 ECDHE-RSA-AES128-GCM works", client: tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
			{name: "TLS 1.2 ECDHE-RSA-AES256-GCM works", client: tls12(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
			{name: "TLS 1.2 ECDHE-RSA-ChaCha20 works", client: tls12(tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		}},
	}
	for _, c := range certs {
		t.Run(c.name, func(t *testing.T) {
			pair := newPair(t, c.spec)
			cert := pair.tlsCertificate(t)
			addr := serveTLS(t, ServerConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }))
			for _, tt := range append(slices.Clone(common), c.good...) {
				t.Run(tt.name, func(t *testing.T) {
					cfg := tt.client.Clone()
					cfg.RootCAs = pool(pair.leaf)
					cfg.ServerName = "localhost"
					cfg.Time = func() time.Time { return t0 }
					st, err := handshake(addr, cfg)
					if tt.wantErr != "" {
						if err == nil {
							t.Fatalf("handshake succeeded with %s / %s, want failure", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
						}
						if !strings.Contains(err.Error(), tt.wantErr) {
							t.Fatalf("error %q does not contain %q", err, tt.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatalf("handshake failed: %v", err)
					}
					if st.Version != tt.version {
						t.Errorf("version %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.version))
					}
					if tt.suite != 0 && st.CipherSuite != tt.suite {
						t.Errorf("suite %s, want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tt.suite))
					}
					if tt.curve != 0 && st.CurveID != tt.curve {
						t.Errorf("key exchange %v, want %v", st.CurveID, tt.curve)
					}
					if st.NegotiatedProtocol != "" {
						t.Errorf("negotiated %q without the client asking", st.NegotiatedProtocol)
					}
				})
			}
		})
	}
}

// TestOnlyTLS13SessionsResume: TLS 1.2 session tickets would undo forward
// secrecy, so a TLS 1.2 client must do a full handshake every time, while
// TLS 1.3 (forward-secret psk_dhe_ke) resumption keeps working.
func TestOnlyTLS13SessionsResume(t *testing.T) {
	pair := newPair(t, pairSpec{})
	cert := pair.tlsCertificate(t)
	addr := serveTLS(t, ServerConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }))
	for _, tt := range []struct {
		name       string
		maxVersion uint16
		wantResume bool
	}{
		{"TLS 1.2 connections are never resumed", tls.VersionTLS12, false},
		{"TLS 1.3 connections are resumed", tls.VersionTLS13, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{
				DisableKeepAlives: true, // a new TLS connection per request
				TLSClientConfig: &tls.Config{
					RootCAs:            pool(pair.leaf),
					ServerName:         "localhost",
					Time:               func() time.Time { return t0 },
					MaxVersion:         tt.maxVersion,
					ClientSessionCache: tls.NewLRUClientSessionCache(4),
				},
			}}
			var resumed []bool
			for range 3 {
				resp, err := client.Get("https://" + addr + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.TLS.Version != tt.maxVersion {
					t.Fatalf("version %s", tls.VersionName(resp.TLS.Version))
				}
				resumed = append(resumed, resp.TLS.DidResume)
			}
			if want := []bool{false, tt.wantResume, tt.wantResume}; !slices.Equal(resumed, want) {
				t.Errorf("DidResume per connection = %v, want %v", resumed, want)
			}
		})
	}
}

// TestOpenSSLAcceptance mirrors the operator's acceptance check with the
// openssl command line against a development-certificate server.
func TestOpenSSLAcceptance(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	p, err := Open(Source{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, p.TLSConfig())
	_, port, _ := net.SplitHostPort(addr)

	for _, tt := range []struct {
		name string
		args []string
		ok   bool
		want string // substring of the output proving why
	}{
		{"-tls1_1 fails", []string{"-tls1_1"}, false, ""},
		// Debian's openssl refuses TLS 1.1 itself at the default security
		// level; lower it so the server, not the client, has to say no.
		{"-tls1_1 fails even when openssl is willing", []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, false, "alert protocol version"},
		{"-tls1_2 with ECDSA CBC fails", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"}, false, "alert handshake failure"},
		{"-tls1_2 with ECDSA CBC-SHA1 fails", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"}, false, "alert handshake failure"},
		{"-tls1_2 with RSA CBC fails", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"}, false, "alert handshake failure"},
		{"-tls1_2 with static RSA fails", []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256"}, false, "alert handshake failure"},
		{"-tls1_2 with ECDHE-ECDSA-AES128-GCM succeeds", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, true, "ECDHE-ECDSA-AES128-GCM-SHA256"},
		{"-tls1_2 with ECDHE-ECDSA-CHACHA20 succeeds", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, true, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"-tls1_3 succeeds", []string{"-tls1_3"}, true, "TLSv1.3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"s_client", "-connect", "127.0.0.1:" + port, "-servername", "localhost"}, tt.args...)
			cmd := exec.CommandContext(ctx, openssl, args...)
			cmd.Stdin = strings.NewReader("") // EOF: disconnect after the handshake
			out, err := cmd.CombinedOutput()
			negotiated := strings.Contains(string(out), "Cipher is ") && !strings.Contains(string(out), "Cipher is (NONE)")
			if tt.ok && (err != nil || !negotiated) {
				t.Fatalf("openssl %s failed (%v):\n%s", strings.Join(args, " "), err, out)
			}
			if !tt.ok && (err == nil || negotiated) {
				t.Fatalf("openssl %s connected, want failure:\n%s", strings.Join(args, " "), out)
			}
			if tt.want != "" && !strings.Contains(string(out), tt.want) {
				t.Fatalf("output of openssl %s lacks %q:\n%s", strings.Join(args, " "), tt.want, out)
			}
		})
	}
}

// TestHTTP2IsNegotiated: the suite list satisfies HTTP/2's TLS requirements
// (net/http refuses to enable h2 otherwise) and ALPN offers it first.
func TestHTTP2IsNegotiated(t *testing.T) {
	pair := newPair(t, pairSpec{})
	cert := pair.tlsCertificate(t)
	addr := serveTLS(t, ServerConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }))
	for _, maxVersion := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client := &http.Client{Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{
				RootCAs: pool(pair.leaf), ServerName: "localhost", MaxVersion: maxVersion,
				Time: func() time.Time { return t0 },
			},
		}}
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("%s: protocol %s, want HTTP/2.0", tls.VersionName(maxVersion), resp.Proto)
		}
		client.CloseIdleConnections()
	}
}
