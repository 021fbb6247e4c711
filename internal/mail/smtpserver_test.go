package mail_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A real SMTP server (emersion/go-smtp) on 127.0.0.1:0, speaking to the
// sender over TCP, that records what it sees: every message with the TLS
// state of its connection, every AUTH attempt, and every byte the client
// wrote on the wire (to prove a password never crossed it in clear text).

const (
	testUser     = "mailer@rampart.test"
	testPassword = "s3cret-smtp-Pa55word!"
)

type serverOptions struct {
	startTLS          bool // offer STARTTLS
	implicitTLS       bool // TLS from the first byte
	allowInsecureAuth bool // offer AUTH on a clear-text connection (a trap for the client)
	requireAuth       bool // refuse MAIL before AUTH
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool   // the connection was TLS when DATA arrived
	user string // authenticated user, "" if none
}

type authAttempt struct {
	user, password string
	tls            bool
}

type testServer struct {
	host  string
	port  int
	roots *x509.CertPool // trusts the server's self-signed certificate

	mu    sync.Mutex
	msgs  []received
	auths []authAttempt
	wire  bytes.Buffer // bytes read from clients, as they crossed the network
	conns int
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *testServer) authAttempts() []authAttempt {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]authAttempt(nil), ts.auths...)
}

func (ts *testServer) wireBytes() []byte {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return bytes.Clone(ts.wire.Bytes())
}

func (ts *testServer) connections() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.conns
}

func startSMTPServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	cert, roots := selfSignedCert(t)
	ts := &testServer{roots: roots}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = &recordingListener{Listener: ln, ts: ts}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if opts.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{ts: ts, conn: c, opts: opts}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = opts.allowInsecureAuth
	srv.ErrorLog = discardLogger{}
	if opts.startTLS {
		srv.TLSConfig = tlsConfig
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	addr := ln.Addr().(*net.TCPAddr)
	ts.host = addr.IP.String()
	ts.port = addr.Port
	return ts
}

type session struct {
	ts   *testServer
	conn *smtp.Conn
	opts serverOptions
	user string
	from string
	to   []string
}

func (s *session) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.ts.mu.Lock()
		s.ts.auths = append(s.ts.auths, authAttempt{user: username, password: password, tls: s.isTLS()})
		s.ts.mu.Unlock()
		if username != testUser || password != testPassword {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.opts.requireAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, received{from: s.from, to: s.to, data: data, tls: s.isTLS(), user: s.user})
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// recordingListener copies every byte the server reads into ts.wire.
type recordingListener struct {
	net.Listener
	ts *testServer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.ts.mu.Lock()
	l.ts.conns++
	l.ts.mu.Unlock()
	return &recordingConn{Conn: c, ts: l.ts}, nil
}

type recordingConn struct {
	net.Conn
	ts *testServer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.ts.mu.Lock()
	c.ts.wire.Write(p[:n])
	c.ts.mu.Unlock()
	return n, err
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// selfSignedCert makes a fresh ECDSA certificate for 127.0.0.1 and
// localhost, and a pool that trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "rampart test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// stallingServer accepts connections and never says a word: the greeting a
// client waits for never comes.
func stallingServer(t *testing.T) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	h, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ = strconv.Atoi(p)
	return h, port
}
