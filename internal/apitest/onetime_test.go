package apitest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/logx"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// End-to-end tests of the single-use links: the bootstrap link printed at
// start, invitations (mailed to the outbox directory) and password resets
// (mailed through a real SMTP server with STARTTLS, a private CA and AUTH).

// startCapturing runs a fresh instance like start, with cfg adjusted by
// adjust, and returns what the server printed to its standard output.
func startCapturing(t *testing.T, d store.Dialect, adjust func(*config.Config)) (*instance, string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.Listen.HTTP = config.ListenOff
	if d == store.Postgres {
		cfg.DatabaseURL = testutil.FreshPostgresSchema(t)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := logx.New(logs, logx.Options{Format: "json", Level: slog.LevelDebug})
	var stdout bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.Start(ctx, cfg, log, &stdout)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	pemBytes, err := os.ReadFile(filepath.Join(cfg.DataDir, "tls", "dev-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &instance{t: t, base: srv.URL(), data: srv.Data(), pool: pool, logs: logs}, stdout.String()
}

// linkToken extracts the token of a <base>/<page>#token=... link from text.
func linkToken(t *testing.T, text, base, page, prefix string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(base+"/"+page+"#token=") + "(" + regexp.QuoteMeta(prefix) + "[A-Za-z0-9_-]{43})")
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s/%s#token=%s... link in:\n%s", base, page, prefix, text)
	}
	return m[1]
}

// mailText returns the decoded text of a raw message: the body is
// quoted-printable, with the link wrapped over several lines.
func mailText(t *testing.T, raw []byte) (netmail.Header, string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, string(body)
}

// noSecret fails when s appears in the log or the audit table.
func (in *instance) noSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(in.logs.String(), s) {
		t.Errorf("the log contains the %s", what)
	}
	var n int
	err := in.data.DB.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE details LIKE ? OR target LIKE ?", "%"+s+"%", "%"+s+"%").Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		t.Errorf("the audit log contains the %s", what)
	}
}

func TestBootstrapAndInvitationsEndToEnd(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { bootstrapAndInviteScenarios(t, d) })
	}
}

func bootstrapAndInviteScenarios(t *testing.T, d store.Dialect) {
	in, stdout := startCapturing(t, d, nil)
	orgs := seed(t, in)

	var opToken string
	t.Run("the first start prints a bootstrap link on stdout, never in the log", func(t *testing.T) {
		line := regexp.MustCompile(`(?m)^Bootstrap: open (\S+) within 1 hour to create the first operator account$`).FindStringSubmatch(stdout)
		if line == nil {
			t.Fatalf("no bootstrap line in:\n%s", stdout)
		}
		opToken = linkToken(t, line[1], in.base, "bootstrap", "rpb_")
		in.noSecret(t, "bootstrap token", opToken)
		if strings.Contains(in.logs.String(), "rpb_") {
			t.Error("the log mentions a bootstrap token")
		}
	})

	op := in.client(t)
	t.Run("the bootstrap link creates the first operator, once", func(t *testing.T) {
		c := in.client(t)
		r := c.do("POST", "/api/v1/bootstrap", map[string]string{"token": opToken, "email": "op@platform.test", "password": "short"})
		if r.status != 400 || r.errCode() != "password_policy" {
			t.Fatalf("weak password: %d %s", r.status, r.raw)
		}
		r = op.expect(201, "POST", "/api/v1/bootstrap", map[string]string{"token": opToken, "email": "op@platform.test", "password": pw})
		if r.body["organization"] != "platform" || r.body["mfa_required"] != false || !contains(r.body["roles"], "owner") {
			t.Fatalf("bootstrap: %s", r.raw)
		}
		me := op.expect(200, "GET", "/api/v1/me", nil)
		if me.body["organization"] != "platform" || me.body["email"] != "op@platform.test" {
			t.Fatalf("me: %s", me.raw)
		}
		r = c.do("POST", "/api/v1/bootstrap", map[string]string{"token": opToken, "email": "second@platform.test", "password": pw})
		if r.status != 400 || !strings.Contains(r.errMessage(), "already been used") {
			t.Fatalf("second claim: %d %s", r.status, r.raw)
		}
		c.expect(401, "GET", "/api/v1/me", nil)
		in.client(t).expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "platform", "email": "op@platform.test", "password": pw})
		in.noSecret(t, "bootstrap token", opToken)
	})

	t.Run("operators create organizations; tenants cannot", func(t *testing.T) {
		r := op.expect(201, "POST", "/api/v1/organizations", map[string]string{"name": "Initech", "slug": "initech"})
		if r.body["slug"] != "initech" || r.body["id"] == "" {
			t.Fatalf("create: %s", r.raw)
		}
		if o, err := in.data.FindOrganization(context.Background(), "initech"); err != nil || o.ID != r.body["id"] {
			t.Fatalf("the organization is not there: %+v %v", o, err)
		}
		op.expect(409, "POST", "/api/v1/organizations", map[string]string{"name": "Again", "slug": "initech"})
		op.expect(400, "POST", "/api/v1/organizations", map[string]string{"name": "Squatter", "slug": "platform"})
		tenant := in.client(t)
		tenant.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": pw})
		tenant.expect(403, "POST", "/api/v1/organizations", map[string]string{"name": "Mine", "slug": "mine"})
	})

	owner := in.client(t)
	owner.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": pw})
	outbox := filepath.Join(in.data.Config.DataDir, "outbox")

	// inviteToken reads the invitation to email from the outbox directory.
	inviteToken := func(t *testing.T, email string) string {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(outbox, "*-invite-*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, text := mailText(t, raw)
			if h.Get("To") == "<"+email+">" || h.Get("To") == email {
				_ = os.Remove(f)
				return linkToken(t, text, in.base, "invite", "rpi_")
			}
		}
		t.Fatalf("no invitation for %s in %s (%d files)", email, outbox, len(files))
		return ""
	}

	t.Run("invite, accept, log in", func(t *testing.T) {
		r := owner.expect(201, "POST", "/api/v1/invites", map[string]any{"email": "new@acme.test", "roles": []string{"admin"}})
		if r.body["email"] != "new@acme.test" || !contains(r.body["roles"], "admin") || r.body["id"] == "" || r.body["expires_at"] == "" {
			t.Fatalf("invite: %s", r.raw)
		}
		list := owner.expect(200, "GET", "/api/v1/invites", nil)
		if items, _ := list.body["items"].([]any); len(items) != 1 || strings.Contains(list.raw, "rpi_") {
			t.Fatalf("pending invitations: %s", list.raw)
		}
		token := inviteToken(t, "new@acme.test")
		if !strings.Contains(in.logs.String(), "mail written to outbox") {
			t.Error("the outbox write is not logged")
		}
		in.noSecret(t, "invitation token", token)

		guest := in.client(t)
		r = guest.do("POST", "/api/v1/invites/accept", map[string]string{"token": token, "password": "new"})
		if r.status != 400 || r.errCode() != "password_policy" {
			t.Fatalf("weak password: %d %s", r.status, r.raw)
		}
		r = guest.expect(200, "POST", "/api/v1/invites/accept", map[string]string{"token": token, "password": pw})
		if r.body["mfa_required"] != false || r.body["organization"] != "acme" || r.body["email"] != "new@acme.test" {
			t.Fatalf("accept: %s", r.raw)
		}
		me := guest.expect(200, "GET", "/api/v1/me", nil)
		if !contains(me.body["roles"], "admin") {
			t.Fatalf("me after accepting: %s", me.raw)
		}
		in.client(t).expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "new@acme.test", "password": pw})

		r = in.client(t).do("POST", "/api/v1/invites/accept", map[string]string{"token": token, "password": pw})
		if r.status != 400 || !strings.Contains(r.errMessage(), "already been used") {
			t.Fatalf("second accept: %d %s", r.status, r.raw)
		}
		r = in.client(t).do("POST", "/api/v1/invites/accept", map[string]string{"token": "rpi_" + strings.Repeat("x", 43), "password": pw})
		if r.status != 400 || !strings.Contains(r.errMessage(), "is not valid") {
			t.Fatalf("unknown token: %d %s", r.status, r.raw)
		}
		if items, _ := owner.expect(200, "GET", "/api/v1/invites", nil).body["items"].([]any); len(items) != 0 {
			t.Fatalf("accepted invitation still pending: %v", items)
		}
		in.noSecret(t, "invitation token", token)
	})

	t.Run("an admin cannot invite an owner; a member cannot invite", func(t *testing.T) {
		admin := in.client(t)
		admin.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "new@acme.test", "password": pw})
		r := admin.expect(403, "POST", "/api/v1/invites", map[string]any{"email": "boss@acme.test", "roles": []string{"owner"}})
		if !strings.Contains(r.errMessage(), "cannot grant") {
			t.Fatalf("admin inviting an owner: %s", r.raw)
		}
		admin.expect(201, "POST", "/api/v1/invites", map[string]any{"email": "helper@acme.test", "roles": []string{"member"}})
		member := in.client(t)
		member.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "member@acme.test", "password": pw})
		member.expect(403, "POST", "/api/v1/invites", map[string]any{"email": "friend@acme.test"})
		owner.expect(409, "POST", "/api/v1/invites", map[string]any{"email": "member@acme.test"})
	})

	t.Run("revoking an invitation, not another organization's", func(t *testing.T) {
		r := owner.expect(201, "POST", "/api/v1/invites", map[string]any{"email": "gone@acme.test"})
		id, _ := r.body["id"].(string)
		token := inviteToken(t, "gone@acme.test")
		other := in.client(t)
		other.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "globex", "email": "owner@globex.test", "password": pw})
		other.expect(404, "DELETE", "/api/v1/invites/"+id, nil)
		if items, _ := other.expect(200, "GET", "/api/v1/invites", nil).body["items"].([]any); len(items) != 0 {
			t.Fatalf("globex sees acme's invitations: %v", items)
		}
		owner.expect(204, "DELETE", "/api/v1/invites/"+id, nil)
		owner.expect(404, "DELETE", "/api/v1/invites/"+id, nil)
		r = in.client(t).do("POST", "/api/v1/invites/accept", map[string]string{"token": token, "password": pw})
		if r.status != 400 {
			t.Fatalf("revoked invitation accepted: %d %s", r.status, r.raw)
		}
		audit := owner.expect(200, "GET", "/api/v1/audit?action=invite.", nil)
		for _, action := range []string{"invite.create", "invite.accept", "invite.revoke"} {
			if !strings.Contains(audit.raw, `"`+action+`"`) {
				t.Errorf("no %s in the audit log: %s", action, audit.raw)
			}
		}
	})
	_ = orgs
}

func TestPasswordResetThroughARealSMTPServer(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { passwordResetScenario(t, d) })
	}
}

func passwordResetScenario(t *testing.T, d store.Dialect) {
	mta := startMTA(t)
	in, _ := startCapturing(t, d, func(c *config.Config) {
		c.Mail.From = "rampart@acme.test"
		c.SMTP.Host = "127.0.0.1"
		c.SMTP.Port = mta.port
		c.SMTP.Username = mtaUser
		c.SMTP.Password = mtaPassword
		c.SMTP.TLSMode = "starttls"
		c.SMTP.CAFile = mta.caFile
	})
	seed(t, in)

	// Two browsers signed in before the reset.
	before := []*client{in.client(t), in.client(t)}
	for _, c := range before {
		c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "member@acme.test", "password": pw})
		c.expect(200, "GET", "/api/v1/me", nil)
	}

	anon := in.client(t)
	known := anon.expect(202, "POST", "/api/v1/auth/password-reset", map[string]string{"organization": "acme", "email": "member@acme.test"})
	unknown := anon.expect(202, "POST", "/api/v1/auth/password-reset", map[string]string{"organization": "acme", "email": "nobody@acme.test"})
	elsewhere := anon.expect(202, "POST", "/api/v1/auth/password-reset", map[string]string{"organization": "nowhere", "email": "member@acme.test"})
	if known.raw != `{"status":"sent if the account exists"}`+"\n" || unknown.raw != known.raw || elsewhere.raw != known.raw {
		t.Fatalf("answers differ or are not the documented one:\n%s%s%s", known.raw, unknown.raw, elsewhere.raw)
	}
	in.data.Identity.WaitForMail()
	msgs := mta.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails delivered, want 1 (none for the unknown accounts)", len(msgs))
	}
	m := msgs[0]
	if !m.tls || m.user != mtaUser || len(m.to) != 1 || m.to[0] != "member@acme.test" || m.from != "rampart@acme.test" {
		t.Fatalf("delivery: tls %v, user %q, from %q, to %v", m.tls, m.user, m.from, m.to)
	}
	h, text := mailText(t, m.data)
	if h.Get("Subject") != "Reset your Rampart password" {
		t.Errorf("subject %q", h.Get("Subject"))
	}
	token := linkToken(t, text, in.base, "reset", "rpr_")
	if !strings.Contains(in.logs.String(), "mail sent via SMTP") {
		t.Error("the delivery is not logged")
	}
	in.noSecret(t, "reset token", token)
	in.noSecret(t, "SMTP password", mtaPassword)

	r := anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": "weak"})
	if r.status != 400 || r.errCode() != "password_policy" {
		t.Fatalf("weak password: %d %s", r.status, r.raw)
	}
	const newPW = "a brand new passphrase 2026"
	r = anon.expect(200, "POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": newPW})
	if n, _ := r.body["sessions_revoked"].(float64); n != 2 {
		t.Fatalf("confirm: %s", r.raw)
	}
	for _, c := range before {
		c.expect(401, "GET", "/api/v1/me", nil)
	}
	in.client(t).expect(401, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "member@acme.test", "password": pw})
	in.client(t).expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "member@acme.test", "password": newPW})
	r = anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": newPW + "!"})
	if r.status != 400 || !strings.Contains(r.errMessage(), "already been used") {
		t.Fatalf("reset link used twice: %d %s", r.status, r.raw)
	}

	owner := in.client(t)
	owner.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": pw})
	audit := owner.expect(200, "GET", "/api/v1/audit?action=password.", nil)
	for _, action := range []string{"password.reset.request", "password.reset"} {
		if !strings.Contains(audit.raw, `"`+action+`"`) {
			t.Errorf("no %s in the audit log: %s", action, audit.raw)
		}
	}
	in.noSecret(t, "reset token", token)
	in.noSecret(t, "new password", newPW)
}

// A real SMTP server (emersion/go-smtp) on 127.0.0.1 with STARTTLS under a
// private CA and AUTH PLAIN, which records the messages it accepts.

const (
	mtaUser     = "rampart@mail.test"
	mtaPassword = "smtp-s3cret-for-tests"
)

type mtaMessage struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type mta struct {
	port   int
	caFile string
	mu     sync.Mutex
	msgs   []mtaMessage
}

func (m *mta) messages() []mtaMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mtaMessage(nil), m.msgs...)
}

func startMTA(t *testing.T) *mta {
	t.Helper()
	cert, caPEM := testServerCert(t)
	m := &mta{caFile: filepath.Join(t.TempDir(), "smtp-ca.pem")}
	if err := os.WriteFile(m.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mtaSession{m: m, conn: c}, nil
	}))
	srv.Domain = "mail.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ErrorLog = mtaDiscard{}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	m.port, _ = strconv.Atoi(strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:"))
	return m
}

type mtaSession struct {
	m    *mta
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *mtaSession) isTLS() bool { _, ok := s.conn.TLSConnectionState(); return ok }

func (s *mtaSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mtaSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != mtaUser || password != mtaPassword {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *mtaSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mtaSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mtaSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, mtaMessage{from: s.from, to: s.to, data: data, tls: s.isTLS(), user: s.user})
	s.m.mu.Unlock()
	return nil
}

func (s *mtaSession) Reset()        { s.from, s.to = "", nil }
func (s *mtaSession) Logout() error { return nil }

type mtaDiscard struct{}

func (mtaDiscard) Printf(string, ...any) {}
func (mtaDiscard) Println(...any)        {}

// testServerCert makes a private CA and a certificate it signs for
// 127.0.0.1, and returns the certificate and the CA in PEM.
func testServerCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rampart test mail CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}
