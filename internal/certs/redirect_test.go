package certs

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedirectHandler(t *testing.T) {
	for _, tt := range []struct {
		name         string
		port         string
		method, host string
		target       string // request-target (path and query)
		want         int
		location     string
	}{
		{"path and query are kept", "8443", "GET", "rampart.example.com", "/a/b?x=1&y=two", 308, "https://rampart.example.com:8443/a/b?x=1&y=two"},
		{"the default port 443 is omitted", "443", "GET", "rampart.example.com", "/a", 308, "https://rampart.example.com/a"},
		{"an empty port means 443", "", "GET", "rampart.example.com", "/a", 308, "https://rampart.example.com/a"},
		{"the plain-HTTP port of the Host header is dropped", "443", "GET", "rampart.example.com:80", "/", 308, "https://rampart.example.com/"},
		{"the host is lower-cased", "443", "GET", "Rampart.Example.COM", "/", 308, "https://rampart.example.com/"},
		{"a fully qualified host keeps its dot", "443", "GET", "rampart.example.com.", "/", 308, "https://rampart.example.com./"},
		{"an IPv4 host works", "8443", "GET", "127.0.0.1:8080", "/x", 308, "https://127.0.0.1:8443/x"},
		{"an IPv6 host keeps its brackets", "8443", "GET", "[::1]:8080", "/x", 308, "https://[::1]:8443/x"},
		{"an IPv6 host without port works", "443", "GET", "[2001:db8::1]", "/", 308, "https://[2001:db8::1]/"},
		{"HEAD is redirected", "443", "HEAD", "localhost", "/", 308, "https://localhost/"},
		{"escaped path bytes stay escaped", "443", "GET", "localhost", "/a%20b/%2F?q=%3Cx%3E", 308, "https://localhost/a%20b/%2F?q=%3Cx%3E"},
		{"raw markup in the query is escaped", "443", "GET", "localhost", `/?q=<script>"x"`, 308, "https://localhost/?q=%3Cscript%3E%22x%22"},
		{"a stray percent in the query is escaped", "443", "GET", "localhost", "/?q=100%", 308, "https://localhost/?q=100%25"},
		{"a double-slash path cannot change the host", "443", "GET", "localhost", "//evil.example/x", 308, "https://localhost//evil.example/x"},
		{"POST is refused, not redirected", "443", "POST", "localhost", "/login", 400, ""},
		{"PUT is refused", "443", "PUT", "localhost", "/x", 400, ""},
		{"a host with a space is refused", "443", "GET", "evil.example x", "/", 400, ""},
		{"a host with markup is refused", "443", "GET", "<script>alert(1)</script>", "/", 400, ""},
		{"a host with a path is refused", "443", "GET", "evil.example/x", "/", 400, ""},
		{"a host with userinfo is refused", "443", "GET", "user@evil.example", "/", 400, ""},
		{"a host with an underscore is refused", "443", "GET", "a_b.example", "/", 400, ""},
		{"a host with raw Unicode is refused", "443", "GET", "bücher.example", "/", 400, ""},
		{"a numeric host is refused", "443", "GET", "2130706433", "/", 400, ""},
		{"an octal-looking host is refused", "443", "GET", "0177.0.0.1", "/", 400, ""},
		{"an unbracketed IPv6 host is refused", "443", "GET", "::1", "/", 400, ""},
		{"an IPv6 zone is refused", "443", "GET", "[fe80::1%25eth0]", "/", 400, ""},
		{"an unterminated bracket is refused", "443", "GET", "[::1", "/", 400, ""},
		{"a non-numeric port is refused", "443", "GET", "localhost:http", "/", 400, ""},
		{"an empty host is refused", "443", "GET", "", "/", 400, ""},
		{"a label starting with a hyphen is refused", "443", "GET", "-a.example", "/", 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://placeholder"+tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			RedirectHandler(tt.port).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			body := w.Body.String()
			switch {
			case tt.want == 308 && body != "":
				t.Errorf("redirect has a body %q", body)
			case tt.want == 400 && body != "invalid Host header\n" && body != "use HTTPS\n":
				t.Errorf("400 body %q", body)
			}
			if ct := w.Header().Get("Content-Type"); strings.Contains(ct, "html") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestRedirectHandlerRejectsBadPorts(t *testing.T) {
	for _, port := range []string{"0", "65536", "https", ":443", "08443", "-1"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RedirectHandler(%q) did not panic", port)
				}
			}()
			RedirectHandler(port)
		}()
	}
}

// TestRedirectHandlerOverRealHTTP sends raw request lines, as an attacker
// would, to a real server.
func TestRedirectHandlerOverRealHTTP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: RedirectHandler("8443"), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	for _, tt := range []struct {
		name, request string
		want          int
		location      string
	}{
		{"a normal request", "GET /p?q=1 HTTP/1.1\r\nHost: rampart.example.com\r\n\r\n", 308, "https://rampart.example.com:8443/p?q=1"},
		{"an absolute-form request uses the URL's host", "GET http://rampart.example.com/p HTTP/1.1\r\nHost: other.example\r\n\r\n", 308, "https://rampart.example.com:8443/p"},
		{"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 400, ""},
		{"GET * goes to the root", "GET * HTTP/1.1\r\nHost: localhost\r\n\r\n", 308, "https://localhost:8443/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want || resp.Header.Get("Location") != tt.location {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.want, tt.location)
			}
		})
	}
}

func FuzzRedirectHandler(f *testing.F) {
	for _, s := range [][2]string{
		{"rampart.example.com", "/a?b=c"},
		{"[::1]:80", "/%2F?x=%zz"},
		{"127.0.0.1", "/?<script>"},
		{"evil.example\r\nX: y", "/"},
		{"xn--bcher-kva.example.", "//x"},
	} {
		f.Add(s[0], s[1])
	}
	h := RedirectHandler("8443")
	f.Fuzz(func(t *testing.T, host, target string) {
		path, query, _ := strings.Cut(target, "?")
		r := &http.Request{Method: http.MethodGet, Host: host, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusBadRequest:
			if b := w.Body.String(); b != "invalid Host header\n" {
				t.Fatalf("400 body %q reflects input", b)
			}
		case http.StatusPermanentRedirect:
			loc := w.Header().Get("Location")
			for i := 0; i < len(loc); i++ {
				if c := loc[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^`+"`{|}", c) >= 0 {
					t.Fatalf("Location %q has byte %q", loc, c)
				}
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("Location %q does not parse: %v", loc, err)
			}
			if u.Scheme != "https" || u.Port() != "8443" || u.User != nil {
				t.Fatalf("Location %q: scheme %q port %q user %v", loc, u.Scheme, u.Port(), u.User)
			}
			want, ok := redirectHost(host)
			if !ok || u.Host != want+":8443" {
				t.Fatalf("Location %q for Host %q", loc, host)
			}
			if w.Body.Len() != 0 {
				t.Fatalf("redirect body %q", w.Body.String())
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}
