package certs

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// RedirectHandler is the plain-HTTP handler: GET and HEAD get a 308 Permanent
// Redirect to the same host, path and query on https (with :httpsPort unless
// it is 443 or empty); other methods are refused with 400. It panics if
// httpsPort is not a port number, a wiring mistake.
//
// Rampart never serves content over plain HTTP. The Host header is the only
// client input that decides where the redirect points, so it must be a plain
// hostname or IP literal or the request gets 400; the response has no body,
// so nothing a client sends is ever reflected into HTML.
func RedirectHandler(httpsPort string) http.Handler {
	portSuffix := ""
	if httpsPort != "" && httpsPort != "443" {
		if n, err := strconv.Atoi(httpsPort); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != httpsPort {
			panic(fmt.Sprintf("certs.RedirectHandler: invalid port %q", httpsPort))
		}
		portSuffix = ":" + httpsPort
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := redirectHost(r.Host)
		if !ok {
			http.Error(w, "invalid Host header", http.StatusBadRequest)
			return
		}
		// A request with a body has already sent it (credentials, tokens,
		// personal data) in clear text. A 308 would make the client repeat
		// it over HTTPS and succeed, so the misconfigured http:// URL would
		// keep leaking unnoticed; failing makes someone fix it.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use HTTPS", http.StatusBadRequest)
			return
		}
		path := r.URL.EscapedPath()
		if !strings.HasPrefix(path, "/") {
			path = "/" // "GET *" or an empty path: nothing to keep
		}
		loc := "https://" + host + portSuffix + path
		if r.URL.RawQuery != "" {
			loc += "?" + escapeQuery(r.URL.RawQuery)
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// redirectHost extracts the host from a Host header value ("name", "name:port",
// "1.2.3.4:port", "[v6]:port") and returns it normalized, or false if it is
// anything but a valid hostname or IP literal. The client's port is dropped:
// it is the plain-HTTP port, not the HTTPS one.
func redirectHost(hostport string) (string, bool) {
	host := hostport
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 || !validHostPortSuffix(host[end+1:]) {
			return "", false
		}
		a, err := netip.ParseAddr(host[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return "[" + a.String() + "]", true
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if !validHostPortSuffix(host[i:]) {
			return "", false
		}
		host = host[:i]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		// An unbracketed IPv6 address cannot carry a port unambiguously;
		// browsers always bracket it.
		if !a.Is4() {
			return "", false
		}
		return a.String(), true
	}
	if !validHostname(host) {
		return "", false
	}
	return strings.ToLower(host), true
}

// validHostPortSuffix accepts "", ":" or ":digits" (at most 5).
func validHostPortSuffix(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) > 6 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// escapeQuery percent-encodes every byte of a raw query that may not appear
// in a URI query (RFC 3986 3.4), leaving valid ones and well-formed %XX
// escapes alone (a stray "%" becomes %25), so the Location header is a well-formed URI whatever bytes the
// request line carried.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]) || c != '%' && queryByteOK(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// queryByteOK: unreserved, sub-delims, ":", "@", "/" and "?".
func queryByteOK(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
