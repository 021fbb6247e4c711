// Package certs owns Rampart's TLS: the protocol policy every HTTPS listener
// uses and the certificates it serves (requirement DP6, "HTTPS only").
//
// The policy is [ServerConfig]: TLS 1.3, or TLS 1.2 restricted to ECDHE key
// exchange with AES-GCM or ChaCha20-Poly1305, so that every connection is
// forward secret and authenticated-encrypted. Nothing older or weaker is
// negotiable, whatever a client asks for.
//
// Certificates come from exactly one [Source] mode:
//
//   - files: an operator-supplied PEM certificate chain and key
//     (tls.cert_file, tls.key_file). The files are re-read when they change on
//     disk (checked at most every 10 seconds) or on [Provider.Reload], so a
//     renewal needs no restart; a broken replacement is refused and the
//     previous certificate stays in service.
//   - acme: certificates obtained and renewed from an ACME CA (Let's Encrypt by
//     default) for the listed domains only (tls.acme.domains), via
//     golang.org/x/crypto/acme/autocert. Configuring ACME means accepting the
//     CA's terms of service. Serve [Provider.HTTPHandler] on port 80 for the
//     HTTP-01 challenge, and use [Provider.TLSConfig] so TLS-ALPN-01 works too.
//   - development: when nothing else is configured, a self-signed ECDSA P-256
//     certificate for localhost is generated under <data_dir>/tls and reused
//     across restarts, so a browser exception survives a restart.
//
// Call [Check] from configuration validation (it creates nothing and reports
// every problem at once, naming the option), then [Open] to build the
// [Provider]. Plain HTTP is never served: [RedirectHandler] answers port 80
// with a redirect to HTTPS.
package certs
