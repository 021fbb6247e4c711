package logx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"
)

const (
	pw      = "hunter2-Xq7"
	jwtTok  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLXZhbHVl"
	apiTok  = "rpt_Zq9xT3vLk2Wm8RbN4pHsYt"
	pemBody = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	pemKey  = "-----BEGIN PRIVATE KEY-----\n" + pemBody + "\n-----END PRIVATE KEY-----\n"
)

// secretValuer logs as a group holding a password, resolved only by the handler.
type secretValuer struct{}

func (secretValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "bob"), slog.String("password", pw))
}

// tokenStringer prints a credential it was built from.
type tokenStringer struct{}

func (tokenStringer) String() string { return "client(token=" + apiTok[4:] + ")" }

// loginForm is a request struct a careless caller might log whole.
type loginForm struct {
	User     string
	Password string
}

// taggedForm hides its secret from %+v under an innocent field name; only
// its JSON shows the secret key.
type taggedForm struct {
	Hint *string `json:"password"`
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	hint := pw
	for _, tc := range []struct {
		name    string
		log     func(l *slog.Logger)
		secrets []string
	}{
		{"a password attribute", func(l *slog.Logger) { l.Info("login", "password", pw) }, []string{pw}},
		{"a capitalised Password attribute", func(l *slog.Logger) { l.Info("login", "Password", pw) }, []string{pw}},
		{"a new_password attribute", func(l *slog.Logger) { l.Info("reset", "new_password", pw) }, []string{pw}},
		{"a passwd attribute", func(l *slog.Logger) { l.Info("x", "passwd", pw) }, []string{pw}},
		{"a pwd attribute", func(l *slog.Logger) { l.Info("x", "pwd", pw) }, []string{pw}},
		{"a client_secret attribute", func(l *slog.Logger) { l.Info("oidc", "client_secret", "cs-9f8e7d") }, []string{"cs-9f8e7d"}},
		{"an access_token attribute", func(l *slog.Logger) { l.Info("x", "access_token", "at-1a2b3c") }, []string{"at-1a2b3c"}},
		{"a refreshToken attribute", func(l *slog.Logger) { l.Info("x", "refreshToken", "rt-4d5e6f") }, []string{"rt-4d5e6f"}},
		{"an id_token attribute holding a JWT", func(l *slog.Logger) { l.Info("x", "id_token", jwtTok) }, []string{jwtTok}},
		{"an Authorization header attribute", func(l *slog.Logger) { l.Info("x", "Authorization", "Digest response=6629fae4") }, []string{"6629fae4"}},
		{"a set-cookie attribute", func(l *slog.Logger) { l.Info("x", "set-cookie", "sid=ck-77aa; HttpOnly") }, []string{"ck-77aa"}},
		{"an x-api-key attribute", func(l *slog.Logger) { l.Info("x", "x-api-key", "ak-5566") }, []string{"ak-5566"}},
		{"an apiKey attribute", func(l *slog.Logger) { l.Info("x", "apiKey", "ak-7788") }, []string{"ak-7788"}},
		{"a totp_code attribute", func(l *slog.Logger) { l.Info("mfa", "totp_code", "492817") }, []string{"492817"}},
		{"a bare code attribute", func(l *slog.Logger) { l.Info("oauth", "code", "authz-c0de") }, []string{"authz-c0de"}},
		{"a recovery_code attribute", func(l *slog.Logger) { l.Info("mfa", "recovery_code", "rc-1234-5678") }, []string{"rc-1234-5678"}},
		{"key material as bytes", func(l *slog.Logger) { l.Info("keys", "key_material", []byte("km-raw-bytes")) }, []string{"km-raw-bytes", "a20tcmF3LWJ5dGVz"}},
		{"a root_key attribute", func(l *slog.Logger) { l.Info("keys", "root_key", "rk-abcdef") }, []string{"rk-abcdef"}},
		{"a session_id attribute", func(l *slog.Logger) { l.Info("x", "session_id", "sess-42x") }, []string{"sess-42x"}},
		{"a csrf attribute", func(l *slog.Logger) { l.Info("x", "csrf", "csrf-9z9z") }, []string{"csrf-9z9z"}},
		{"a signature attribute", func(l *slog.Logger) { l.Info("webhook", "signature", "sha256=beefcafe") }, []string{"beefcafe"}},
		{"a credentials group, hidden whole", func(l *slog.Logger) {
			l.Info("x", slog.Group("credentials", "user", "svc-acct", "secret", "cr-0099"))
		}, []string{"svc-acct", "cr-0099"}},
		{"a dsn attribute", func(l *slog.Logger) { l.Info("db", "dsn", "host=db password="+pw) }, []string{pw}},
		{"a database_url attribute", func(l *slog.Logger) { l.Info("db", "database_url", "postgres://app:"+pw+"@db/r") }, []string{pw}},
		{"a password in a nested group", func(l *slog.Logger) {
			l.Info("x", slog.Group("config", slog.Group("db", "host", "db1", "password", pw)))
		}, []string{pw}},
		{"a key named by its group", func(l *slog.Logger) { l.Info("x", slog.Group("api", "key", "ak-grp1")) }, []string{"ak-grp1"}},
		{"a password under WithGroup", func(l *slog.Logger) { l.WithGroup("db").Info("x", "password", pw) }, []string{pw}},
		{"a password added With", func(l *slog.Logger) { l.With("password", pw).Info("x") }, []string{pw}},
		{"everything under a secret WithGroup", func(l *slog.Logger) {
			l.WithGroup("credentials").Info("x", "user", "svc-acct")
		}, []string{"svc-acct"}},
		{"an error wrapping a DSN", func(l *slog.Logger) {
			l.Error("open failed", "err", fmt.Errorf("store.Open: connect %s: %w", "postgres://app:"+pw+"@db:5432/r", errors.New("refused")))
		}, []string{pw}},
		{"an error carrying a bearer token", func(l *slog.Logger) {
			l.Error("upstream", "err", fmt.Errorf("request with Authorization: Bearer %s rejected", apiTok))
		}, []string{apiTok}},
		{"an error of a key=value DSN", func(l *slog.Logger) {
			l.Error("x", "err", errors.New("dial tcp: host=db password="+pw+" sslmode=require"))
		}, []string{pw}},
		{"a JWT in the message", func(l *slog.Logger) { l.Info("verifying " + jwtTok) }, []string{jwtTok}},
		{"a PEM private key under an innocent key", func(l *slog.Logger) { l.Info("x", "blob", pemKey) }, []string{pemBody}},
		{"an age identity in the message", func(l *slog.Logger) {
			l.Info("loaded AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP")
		}, []string{"QYQSZQGPQYQSZQGP"}},
		{"Rampart tokens in values", func(l *slog.Logger) {
			l.Info("x", "note", "session rps_AAAAbbbbCCCCdddd1111 reset rpr_EEEEffffGGGGhhhh2222 invite rpi_IIIIjjjjKKKKllll3333")
		}, []string{"AAAAbbbbCCCCdddd1111", "EEEEffffGGGGhhhh2222", "IIIIjjjjKKKKllll3333"}},
		{"a personal API token in the message", func(l *slog.Logger) { l.Info("used " + apiTok) }, []string{apiTok[4:]}},
		{"query parameters in a URL", func(l *slog.Logger) {
			l.Info("callback", "url", "https://app.test/cb?state=s1&code=oc-5544&token=qt-3322")
		}, []string{"oc-5544", "qt-3322"}},
		{"a JSON body holding a password", func(l *slog.Logger) {
			l.Info("body", "body", `{"user":"bob","password":"`+pw+`"}`)
		}, []string{pw}},
		{"a string slice holding a bearer header", func(l *slog.Logger) {
			l.Info("x", "headers", []string{"Accept: */*", "Authorization: Bearer " + apiTok})
		}, []string{apiTok}},
		{"a LogValuer resolving to a password", func(l *slog.Logger) { l.Info("x", "login", secretValuer{}) }, []string{pw}},
		{"a Stringer printing a token pair", func(l *slog.Logger) { l.Info("x", "client", tokenStringer{}) }, []string{apiTok[4:]}},
		{"a struct with a Password field", func(l *slog.Logger) {
			l.Info("x", "form", loginForm{User: "bob", Password: pw})
		}, []string{pw}},
		{"a struct whose JSON names the secret", func(l *slog.Logger) {
			l.Info("x", "form", taggedForm{Hint: &hint})
		}, []string{pw}},
		{"a map with a token", func(l *slog.Logger) { l.Info("x", "params", map[string]string{"token": "mt-0102"}) }, []string{"mt-0102"}},
		{"an http.Header with Authorization", func(l *slog.Logger) {
			l.Info("x", "header", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}})
		}, []string{"dXNlcjpwYXNz"}},
		{"a secret in an attribute key", func(l *slog.Logger) { l.Info("x", "Bearer "+apiTok, 1) }, []string{apiTok}},
	} {
		for _, format := range []string{"json", "text"} {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				tc.log(New(&buf, Options{Format: format, Level: slog.LevelDebug}))
				out := buf.String()
				for _, s := range tc.secrets {
					if strings.Contains(out, s) {
						t.Errorf("secret %q in output:\n%s", s, out)
					}
				}
				if !strings.Contains(out, Redacted) {
					t.Errorf("no %s in output:\n%s", Redacted, out)
				}
			})
		}
	}
}

func TestNonSecretsPassThroughUnchanged(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		attr           slog.Attr
		wantJSON, text string
	}{
		{slog.String("key_id", "k_01HX"), `"key_id":"k_01HX"`, `key_id=k_01HX`},
		{slog.Int("keyset_version", 3), `"keyset_version":3`, `keyset_version=3`},
		{slog.String("org", "acme"), `"org":"acme"`, `org=acme`},
		{slog.String("action", "keys.rotate"), `"action":"keys.rotate"`, `action=keys.rotate`},
		{slog.String("error_code", "E42"), `"error_code":"E42"`, `error_code=E42`},
		{slog.Int("status_code", 503), `"status_code":503`, `status_code=503`},
		{slog.Int("http_code", 404), `"http_code":404`, `http_code=404`},
		{slog.String("token_type", "Bearer"), `"token_type":"Bearer"`, `token_type=Bearer`},
		{slog.String("public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"), `"public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"`, `public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"`},
		{slog.String("user", "alice@example.com"), `"user":"alice@example.com"`, `user=alice@example.com`},
		{slog.String("url", "https://app.test/v1/orgs?limit=10&page_token=p2"), `"url":"https://app.test/v1/orgs?limit=10&page_token=p2"`, `url="https://app.test/v1/orgs?limit=10&page_token=p2"`},
		{slog.String("request_id", "0f8fad5b-d9cb-469f-a165-70867728950e"), `"request_id":"0f8fad5b-d9cb-469f-a165-70867728950e"`, `request_id=0f8fad5b-d9cb-469f-a165-70867728950e`},
		{slog.Bool("otp_enabled", true), `"otp_enabled":true`, `otp_enabled=true`},
		{slog.Duration("took", 1500*time.Millisecond), `"took":1500000000`, `took=1.5s`},
		{slog.Time("at", at), `"at":"2025-01-02T03:04:05Z"`, `at=2025-01-02T03:04:05.000Z`},
		{slog.Any("err", errors.New("session.Create: not found")), `"err":"session.Create: not found"`, `err="session.Create: not found"`},
		{slog.Any("ids", []int{1, 2, 3}), `"ids":[1,2,3]`, `ids="[1 2 3]"`},
		{slog.Group("key", "id", "k1", "version", 2), `"key":{"id":"k1","version":2}`, `key.id=k1 key.version=2`},
		{slog.Group("http", "code", 418), `"http":{"code":418}`, `http.code=418`},
		{slog.String("path", "/v1/orgs/acme/keys"), `"path":"/v1/orgs/acme/keys"`, `path=/v1/orgs/acme/keys`},
	} {
		for _, format := range []string{"json", "text"} {
			var buf bytes.Buffer
			New(&buf, Options{Format: format}).Info("event", tc.attr)
			out, want := buf.String(), tc.text
			if format == "json" {
				want = tc.wantJSON
			}
			if !strings.Contains(out, want) || strings.Contains(out, Redacted) {
				t.Errorf("%s: %s changed:\n got %s\nwant %s", format, tc.attr, out, want)
			}
		}
	}
}

func TestSecretKeyNeverResolvesItsValue(t *testing.T) {
	var calls int
	var buf bytes.Buffer
	New(&buf, Options{}).Info("x", "password", countingValuer{&calls})
	if calls != 0 {
		t.Errorf("LogValue called %d times for a secret key", calls)
	}
	New(&buf, Options{}).Info("x", "user", countingValuer{&calls})
	if calls != 1 {
		t.Errorf("LogValue called %d times, want once", calls)
	}
}

type countingValuer struct{ n *int }

func (v countingValuer) LogValue() slog.Value { *v.n++; return slog.StringValue("v") }

func TestNilAndPanickingValuesStillLog(t *testing.T) {
	var buf bytes.Buffer
	var nilErr *json.SyntaxError // Error() on a nil pointer panics
	New(&buf, Options{}).Info("x", "err", nilErr, "none", nil)
	if !strings.Contains(buf.String(), `"err":"!PANIC:`) || !strings.Contains(buf.String(), `"none":null`) {
		t.Errorf("output: %s", buf.String())
	}
}

func TestUnknownFormatMeansJSON(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, Options{Format: "yaml"}).Info("hello")
	if !json.Valid(buf.Bytes()) {
		t.Errorf("not JSON: %s", buf.String())
	}
}

func TestLevelIsApplied(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: slog.LevelWarn})
	l.Info("quiet")
	l.Warn("loud")
	if strings.Contains(buf.String(), "quiet") || !strings.Contains(buf.String(), "loud") {
		t.Errorf("output: %s", buf.String())
	}
}

// TestHandlerContract runs the standard library's conformance suite, which
// checks groups, WithAttrs, empty attributes and resolution.
func TestHandlerContract(t *testing.T) {
	var buf bytes.Buffer
	h := NewRedactingHandler(slog.NewJSONHandler(&buf, nil))
	err := slogtest.TestHandler(h, func() []map[string]any {
		var ms []map[string]any
		for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		return ms
	})
	if err != nil {
		t.Error(err)
	}
}

func TestConcurrentUse(t *testing.T) {
	var buf syncBuffer
	l := New(&buf, Options{Format: "text"}).With("org", "acme", "token", apiTok).WithGroup("req")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				l.Info("handled", "n", i*100+j, "password", pw, "url", "/cb?code=c0de")
			}
		})
	}
	wg.Wait()
	out := buf.String()
	if strings.Count(out, "\n") != 16*50 || strings.Contains(out, pw) || strings.Contains(out, apiTok) ||
		strings.Contains(out, "c0de") {
		t.Errorf("bad concurrent output (%d lines)", strings.Count(out, "\n"))
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestCleanRecordAllocatesNoMoreThanTheInnerHandler(t *testing.T) {
	inner := slog.NewJSONHandler(io.Discard, nil)
	ctx := context.Background()
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	r.AddAttrs(slog.String("org", "acme"), slog.Int("status", 200), slog.String("path", "/v1/orgs/acme/keys"),
		slog.Duration("took", time.Millisecond), slog.String("key_id", "k_01HX"))
	base := testing.AllocsPerRun(200, func() { _ = inner.Handle(ctx, r) })
	got := testing.AllocsPerRun(200, func() { _ = NewRedactingHandler(inner).Handle(ctx, r) })
	if got > base+1 { // +1: the wrapper itself, built inside the loop
		t.Errorf("redacting handler: %v allocs, inner alone: %v", got, base)
	}
}

func BenchmarkRedactingHandler(b *testing.B) {
	ctx := context.Background()
	clean := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	clean.AddAttrs(slog.String("org", "acme"), slog.Int("status", 200), slog.String("path", "/v1/orgs/acme/keys?limit=10"),
		slog.Duration("took", time.Millisecond), slog.String("key_id", "k_01HX"))
	secret := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	secret.AddAttrs(slog.String("org", "acme"), slog.Int("status", 200), slog.String("path", "/v1/cb?code=abc&state=x"),
		slog.String("password", pw), slog.Any("err", errors.New("dial: password="+pw)))
	inner := slog.NewJSONHandler(io.Discard, nil)
	redacting := NewRedactingHandler(inner)
	for _, bc := range []struct {
		name string
		h    slog.Handler
		r    slog.Record
	}{
		{"inner-only/clean", inner, clean},
		{"redacting/clean", redacting, clean},
		{"inner-only/secret", inner, secret},
		{"redacting/secret", redacting, secret},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = bc.h.Handle(ctx, bc.r)
			}
		})
	}
}
