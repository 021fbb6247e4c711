package certs

import (
	"crypto/tls"
	"slices"
)

// tls12CipherSuites are the only TLS 1.2 suites Rampart negotiates. Each one
// uses ephemeral ECDHE, so a stolen certificate key cannot decrypt recorded
// traffic (forward secrecy), and an AEAD cipher, so there is no CBC
// MAC-then-encrypt padding oracle (Lucky13 and friends). Static-RSA key
// exchange, CBC, 3DES and RC4 are absent on purpose. The order does not
// matter: Go picks by hardware support (AES-NI or not) within this set.
// TLS 1.3 suites are not configurable in Go and are all AEAD + (EC)DHE.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curvePreferences lists the key exchanges Rampart accepts. X25519MLKEM768
// (TLS 1.3 only) is a hybrid: it stays as strong as X25519 while protecting
// today's recorded traffic from a future quantum computer. It exists in every
// Go this module can be built with (go.mod requires Go 1.26), so no build
// guard is needed. P-521 is left out: it adds cost, no meaningful margin, and
// clients do not need it. Go ignores the order of this list and applies its
// own preference (hybrid first).
var curvePreferences = []tls.CurveID{
	tls.X25519MLKEM768,
	tls.X25519,
	tls.CurveP256,
	tls.CurveP384,
}

// ServerConfig returns Rampart's hardened TLS server policy, with getCert
// supplying the certificate. Treat the result as final: the TLS 1.2 variant is
// derived from it when it is built (see below).
func ServerConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return serverConfig(getCert, nil)
}

// serverConfig builds the policy; extraProtos are appended to NextProtos
// (ACME's "acme-tls/1" for the TLS-ALPN-01 challenge).
func serverConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), extraProtos []string) *tls.Config {
	cfg := &tls.Config{
		// TLS 1.0 and 1.1 have no AEAD suites and rely on MD5/SHA-1 in the
		// handshake; they are deprecated (RFC 8996). MaxVersion stays zero so
		// the newest version Go supports (TLS 1.3) is enabled and preferred;
		// TLS 1.3's downgrade sentinel stops an attacker forcing 1.2.
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     slices.Clone(tls12CipherSuites),
		CurvePreferences: slices.Clone(curvePreferences),
		// h2 first: every suite above is allowed by HTTP/2 (RFC 9113 9.2.2).
		NextProtos:     append([]string{"h2", "http/1.1"}, extraProtos...),
		GetCertificate: getCert,
	}

	// A TLS 1.2 session ticket carries the master secret encrypted under the
	// server's ticket key, and is sent before the handshake is encrypted: a
	// recorder who later obtains a ticket key (Go keeps each for 7 days) can
	// decrypt the whole original connection. That would quietly undo forward
	// secrecy, so clients that cannot do TLS 1.3 get a config without
	// tickets. TLS 1.3 keeps resumption: its tickets travel encrypted and Go
	// only resumes with a fresh (EC)DHE exchange (psk_dhe_ke), which stays
	// forward secret.
	tls12 := cfg.Clone()
	tls12.SessionTicketsDisabled = true
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if slices.Contains(hello.SupportedVersions, tls.VersionTLS13) {
			return nil, nil // TLS 1.3 will be negotiated: use cfg itself
		}
		return tls12, nil
	}
	return cfg
}
