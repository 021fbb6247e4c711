package secrets_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/secrets"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

var ctx = context.Background()

// clock is the injected time; tests move it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// published records tombstones.
type published struct {
	mu   sync.Mutex
	list []tombstone.Tombstone
	fail bool
}

func (p *published) Publish(_ context.Context, t tombstone.Tombstone) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return fmt.Errorf("backup target unreachable")
	}
	p.list = append(p.list, t)
	return nil
}

type env struct {
	db    *store.DB
	svc   *secrets.Service
	clock *clock
	pub   *published
	logs  *bytes.Buffer
	orgA  string
	orgB  string
	a     authz.Principal // owner of A, signed in with a session
	aTok  authz.Principal // owner of A through an API token with secrets.use and secrets.manage
	aMem  authz.Principal // plain member of A
	b     authz.Principal // owner of B through a token
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	k := testutil.NewKernel(t, db, c.now)
	e := &env{db: db, clock: c, pub: &published{}, logs: &bytes.Buffer{}, orgA: "org-a", orgB: "org-b"}
	e.svc = secrets.New(db, k.Keys, k.Audit, e.pub, slog.New(slog.NewJSONHandler(e.logs, nil)), c.now)
	k.CreateOrg(t, db, e.orgA, e.orgA)
	k.CreateOrg(t, db, e.orgB, e.orgB)
	e.a = principal(e.orgA, "alice", authz.KindUser, authz.RoleOwner)
	e.aTok = principal(e.orgA, "alice", authz.KindToken, authz.RoleOwner)
	e.aTok.TokenPermissions = []authz.Permission{authz.SecretsUse, authz.SecretsManage}
	e.aMem = principal(e.orgA, "mallory", authz.KindUser, authz.RoleMember)
	e.b = principal(e.orgB, "bob", authz.KindToken, authz.RoleOwner)
	e.b.TokenPermissions = []authz.Permission{authz.SecretsUse, authz.SecretsManage}
	return e
}

func principal(org, user, kind, role string) authz.Principal {
	return authz.Principal{UserID: user, OrgID: org, Kind: kind, Roles: []authz.Role{{Name: role, Builtin: true}}}
}

func (e *env) create(t *testing.T, p authz.Principal, name string, typ secrets.Type, value string) secrets.Secret {
	t.Helper()
	s, err := e.svc.Create(ctx, p, secrets.Spec{Name: name, Type: typ, Value: json.RawMessage(value)})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return s
}

func (e *env) reveal(t *testing.T, id string) secrets.Value {
	t.Helper()
	_, v, err := e.svc.Reveal(ctx, e.aTok, id, secrets.RevealRequest{Purpose: "test"})
	if err != nil {
		t.Fatalf("reveal %s: %v", id, err)
	}
	return v
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind, msgPart string) {
	t.Helper()
	if errs.KindOf(err) != kind {
		t.Fatalf("%s: error %v (kind %s), want kind %s", what, err, errs.KindOf(err), kind)
	}
	if msgPart != "" && !strings.Contains(errs.SafeMessage(err), msgPart) {
		t.Fatalf("%s: message %q does not contain %q", what, errs.SafeMessage(err), msgPart)
	}
}

// rawRow returns every column of a secret's row, bytes in hex and raw.
func rawRow(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var b strings.Builder
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, "SELECT * FROM secrets WHERE id = ?", id)
		if err != nil {
			return err
		}
		defer rs.Close()
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				return err
			}
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.Write(raw)
					b.WriteString(hex.EncodeToString(raw))
				} else {
					fmt.Fprint(&b, v)
				}
				b.WriteByte('|')
			}
		}
		return rs.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func ciphertextOf(t *testing.T, db *store.DB, id string) []byte {
	t.Helper()
	var ct []byte
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT ciphertext FROM secrets WHERE id = ?", id).Scan(&ct)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func auditDump(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	err := db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, "SELECT actor, action, target, outcome, details FROM audit_events ORDER BY org_id, seq")
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var a, ac, tg, o, d string
			if err := rs.Scan(&a, &ac, &tg, &o, &d); err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %s %s %s %s\n", a, ac, tg, o, d)
		}
		return rs.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestEveryTypeRoundTripsAndMetadataNeverHoldsTheValue(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const pwValue = "correct horse battery staple 7f3a"
		const keyValue = "sk_live_51Hxyz0123456789abcdef"
		const access = "ya29.access-token-0123456789"
		pw, err := e.svc.Create(ctx, e.a, secrets.Spec{Name: "smtp relay", Type: secrets.Password, Value: json.RawMessage(`"` + pwValue + `"`),
			Metadata: json.RawMessage(`{"description":"outbound mail","username":"mailer","url":"https://smtp.example.com"}`)})
		if err != nil {
			t.Fatal(err)
		}
		key := e.create(t, e.a, "stripe-live", secrets.APIKey, `"`+keyValue+`"`)
		tok := e.create(t, e.a, "google/drive", secrets.OAuthToken,
			`{"access_token":"`+access+`","refresh_token":"1//refresh-abc","token_type":"Bearer","expiry":"2026-12-01T00:00:00Z","scope":"drive.readonly","id_token":"x"}`)
		if pw.Version != 1 || pw.Status != secrets.StatusActive || pw.CreatedBy != "user:alice" || string(pw.Metadata) != `{"description":"outbound mail","url":"https://smtp.example.com","username":"mailer"}` {
			t.Fatalf("created: %+v %s", pw, pw.Metadata)
		}
		if v := e.reveal(t, pw.ID); v.Text() != pwValue || v.Type != secrets.Password {
			t.Fatalf("password: %q", v.Text())
		}
		if v := e.reveal(t, key.ID); v.Text() != keyValue {
			t.Fatalf("api key: %q", v.Text())
		}
		v := e.reveal(t, tok.ID)
		o, ok := v.OAuth()
		if !ok || o.AccessToken != access || o.RefreshToken != "1//refresh-abc" || o.TokenType != "Bearer" || o.Scope != "drive.readonly" ||
			!o.Expiry.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !strings.Contains(string(v.JSON()), `"id_token":"x"`) || v.Text() != "" {
			t.Fatalf("oauth token: %+v %v", o, ok)
		}
		// Metadata answers, listings and the audit log never hold a value.
		got, err := e.svc.Get(ctx, e.a, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.svc.List(ctx, e.a, secrets.ListOptions{})
		if err != nil || len(page.Items) != 3 {
			t.Fatalf("list: %v %+v", err, page)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(e.clock.now()) {
			t.Fatalf("last_used_at not set by a reveal: %+v", got)
		}
		answers, _ := json.Marshal([]any{pw, key, tok, got, page})
		audit := auditDump(t, db)
		for _, secret := range []string{pwValue, keyValue, access, "1//refresh-abc"} {
			for where, hay := range map[string]string{"metadata answers": string(answers), "audit log": audit, "service log": e.logs.String(),
				"raw row of " + pw.ID: rawRow(t, db, pw.ID), "raw row of " + key.ID: rawRow(t, db, key.ID), "raw row of " + tok.ID: rawRow(t, db, tok.ID)} {
				if strings.Contains(hay, secret) {
					t.Errorf("%s contain a secret value", where)
				}
			}
		}
		for _, action := range []string{"secret.create", "secret.reveal"} {
			if !strings.Contains(audit, action) {
				t.Errorf("audit has no %s: %s", action, audit)
			}
		}
		if !strings.Contains(audit, `"purpose":"test"`) || !strings.Contains(audit, `"metadata_fields":["description","url","username"]`) {
			t.Errorf("audit lacks purpose or metadata field names: %s", audit)
		}
	})
}

func TestValueNeverPrintsItself(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const plain = "hunter2-but-longer-0042"
		s := e.create(t, e.a, "db", secrets.Password, `"`+plain+`"`)
		v := e.reveal(t, s.ID)
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("using", "value", v, "wrapped", struct{ V secrets.Value }{v})
		j, _ := json.Marshal(map[string]any{"v": v})
		out := fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v) + fmt.Sprint(v) + logs.String() + string(j) + errs.E(errs.Invalid, "op", fmt.Sprint(v)).Error()
		if strings.Contains(out, plain) || !strings.Contains(out, "[REDACTED]") {
			t.Fatalf("a Value showed itself: %s", out)
		}
		v.Wipe()
		if v.Text() != "" || len(v.JSON()) != 0 {
			t.Fatal("Wipe left the value readable")
		}
	})
}

func TestBadInputIsRefusedWithPreciseMessagesAndStoresNothing(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		past := e.clock.now().Add(-time.Minute)
		long := strings.Repeat("x", secrets.MaxValueSize+1)
		cases := []struct {
			name string
			spec secrets.Spec
			want []string
		}{
			{"a missing name and type", secrets.Spec{Value: json.RawMessage(`"v"`)}, []string{"name: required", "type: required, one of password, api_key, oauth_token"}},
			{"an unknown type", secrets.Spec{Name: "x", Type: "ssh_key", Value: json.RawMessage(`"v"`)}, []string{`type: unknown type "ssh_key"; must be one of password, api_key, oauth_token`}},
			{"a name with a newline", secrets.Spec{Name: "a\nb", Type: secrets.Password, Value: json.RawMessage(`"v"`)}, []string{"name: letters, digits, spaces"}},
			{"a name too long", secrets.Spec{Name: strings.Repeat("n", 101), Type: secrets.Password, Value: json.RawMessage(`"v"`)}, []string{"name: at most 100 characters"}},
			{"no value", secrets.Spec{Name: "x", Type: secrets.Password}, []string{"value: required"}},
			{"a password that is a number", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`12345`)}, []string{"value: must be a JSON string for type password"}},
			{"an empty password", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`""`)}, []string{"value: must not be empty"}},
			{"an api key with a trailing newline", secrets.Spec{Name: "x", Type: secrets.APIKey, Value: json.RawMessage(`"sk_abc\n"`)}, []string{"value: an api_key must not start or end with whitespace"}},
			{"an api key with a control character", secrets.Spec{Name: "x", Type: secrets.APIKey, Value: json.RawMessage(`"sk\u0007abc"`)}, []string{"value: an api_key must not contain control characters"}},
			{"a value too large", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"` + long + `"`)}, []string{"value: at most 16384 bytes of JSON"}},
			{"an oauth token that is a string", secrets.Spec{Name: "x", Type: secrets.OAuthToken, Value: json.RawMessage(`"ya29.abc"`)}, []string{"value: an oauth_token value must be a JSON object with at least access_token"}},
			{"an oauth token with bad members", secrets.Spec{Name: "x", Type: secrets.OAuthToken,
				Value: json.RawMessage(`{"refresh_token":7,"expiry":"tomorrow","expires_in":-1,"scope":["a"]}`)},
				[]string{"value.access_token: required, a non-empty string", "value.refresh_token: must be a non-empty string", "value.scope: must be a string",
					"value.expiry: must be an RFC 3339 time such as 2027-01-02T15:04:05Z", "value.expires_in: must be a whole number of seconds, 0 or more"}},
			{"metadata that is an array", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"v"`), Metadata: json.RawMessage(`["a"]`)},
				[]string{"metadata: must be a JSON object of non-secret facts"}},
			{"metadata with a secret-named field", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"v"`), Metadata: json.RawMessage(`{"password":"p","api_key":"k"}`)},
				[]string{"metadata.api_key: the name says it holds a credential", "metadata.password: the name says it holds a credential"}},
			{"metadata with a credential-shaped value", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"v"`),
				Metadata: json.RawMessage(`{"url":"https://admin:Sup3rS3cret@db.example.com/x"}`)}, []string{"metadata.url: the value looks like a credential"}},
			{"nested metadata", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"v"`), Metadata: json.RawMessage(`{"owner":{"team":"ops"}}`)},
				[]string{"metadata.owner: must be a string, number, boolean or null"}},
			{"an expiry in the past", secrets.Spec{Name: "x", Type: secrets.Password, Value: json.RawMessage(`"v"`), ExpiresAt: &past}, []string{"expires_at: must be in the future"}},
		}
		for _, c := range cases {
			_, err := e.svc.Create(ctx, e.a, c.spec)
			for _, w := range c.want {
				wantKind(t, c.name, err, errs.Invalid, w)
			}
			if strings.Contains(errs.SafeMessage(err), "Sup3rS3cret") || strings.Contains(errs.SafeMessage(err), "sk_abc") {
				t.Errorf("%s: the message quotes the value: %s", c.name, errs.SafeMessage(err))
			}
		}
		page, err := e.svc.List(ctx, e.a, secrets.ListOptions{})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("bad input stored something: %v %+v", err, page)
		}
		if a := auditDump(t, db); strings.Contains(a, "secret.") {
			t.Fatalf("bad input was audited as a change: %s", a)
		}
		_, err = e.svc.List(ctx, e.a, secrets.ListOptions{Status: "gone"})
		wantKind(t, "bad status", err, errs.Invalid, "status must be active, expired or revoked")
		_, err = e.svc.List(ctx, e.a, secrets.ListOptions{Cursor: "!!"})
		wantKind(t, "bad cursor", err, errs.Invalid, "cursor is not one this server issued")
	})
}

func TestNamesAreUniqueAmongLiveSecrets(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		first := e.create(t, e.a, "github", secrets.APIKey, `"ghp_one"`)
		_, err := e.svc.Create(ctx, e.a, secrets.Spec{Name: "github", Type: secrets.Password, Value: json.RawMessage(`"x"`)})
		wantKind(t, "duplicate", err, errs.Exists, `a secret named "github" already exists`)
		// Another organization may use the name.
		e.create(t, e.b, "github", secrets.APIKey, `"ghp_b"`)
		// Once revoked, the name is free for the replacement.
		if _, err := e.svc.Revoke(ctx, e.a, first.ID); err != nil {
			t.Fatal(err)
		}
		second := e.create(t, e.a, "github", secrets.APIKey, `"ghp_two"`)
		if v := e.reveal(t, second.ID); v.Text() != "ghp_two" {
			t.Fatalf("replacement: %q", v.Text())
		}
	})
}

func TestPermissionsAndWriteOnlyForPeople(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "erp", secrets.Password, `"erp-password-123"`)
		// A member has neither permission.
		_, err := e.svc.Create(ctx, e.aMem, secrets.Spec{Name: "m", Type: secrets.Password, Value: json.RawMessage(`"v"`)})
		wantKind(t, "member creates", err, errs.Forbidden, "missing permission secrets.manage")
		_, err = e.svc.List(ctx, e.aMem, secrets.ListOptions{})
		wantKind(t, "member lists", err, errs.Forbidden, "secrets.manage")
		_, _, err = e.svc.Reveal(ctx, e.aMem, s.ID, secrets.RevealRequest{Purpose: "curious"})
		wantKind(t, "member reveals", err, errs.Forbidden, "missing permission secrets.use")
		// The owner signed in with a session holds secrets.use but is a
		// person: metadata only.
		_, _, err = e.svc.Reveal(ctx, e.a, s.ID, secrets.RevealRequest{Purpose: "just looking", IP: "203.0.113.5"})
		wantKind(t, "owner session reveals", err, errs.Forbidden, "secret values are write-only for people")
		op := principal(e.orgA, "staff", authz.KindOperator, authz.RoleOwner)
		_, _, err = e.svc.Reveal(ctx, op, s.ID, secrets.RevealRequest{Purpose: "support"})
		wantKind(t, "operator reveals", err, errs.Forbidden, "write-only for people")
		// A token without secrets.use cannot, even for its owner.
		narrow := e.aTok
		narrow.TokenPermissions = []authz.Permission{authz.SecretsManage}
		_, _, err = e.svc.Reveal(ctx, narrow, s.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "token without secrets.use", err, errs.Forbidden, "missing permission secrets.use")
		// A purpose is required and bounded.
		_, _, err = e.svc.Reveal(ctx, e.aTok, s.ID, secrets.RevealRequest{Purpose: "  "})
		wantKind(t, "no purpose", err, errs.Invalid, "purpose: required")
		_, _, err = e.svc.Reveal(ctx, e.aTok, s.ID, secrets.RevealRequest{Purpose: strings.Repeat("p", 201)})
		wantKind(t, "long purpose", err, errs.Invalid, "purpose: at most 200 characters")
		// The gateway's in-process Use works for any principal with
		// secrets.use, since the value is not shown to it.
		v, err := e.svc.Use(ctx, e.a, s.ID, "inject into ERP call")
		if err != nil || v.Text() != "erp-password-123" {
			t.Fatalf("use: %v", err)
		}
		_, err = e.svc.Use(ctx, e.aMem, s.ID, "x")
		wantKind(t, "member uses", err, errs.Forbidden, "secrets.use")
		audit := auditDump(t, db)
		for _, want := range []string{
			"user:alice secret.reveal secret:" + s.ID + " denied",
			"user:staff secret.reveal secret:" + s.ID + " denied",
			"user:alice secret.use secret:" + s.ID + " success",
			`"purpose":"inject into ERP call"`, `"reason":"forbidden"`,
		} {
			if !strings.Contains(strings.ReplaceAll(audit, "operator:staff", "user:staff"), want) {
				t.Errorf("audit lacks %q:\n%s", want, audit)
			}
		}
	})
}

func TestRotateMakesANewVersionAndOverwritesTheOldCiphertext(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "crm", secrets.APIKey, `"crm-key-version-one"`)
		before := ciphertextOf(t, db, s.ID)
		e.clock.advance(time.Minute)
		r, err := e.svc.Rotate(ctx, e.a, s.ID, json.RawMessage(`"crm-key-version-two"`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Version != 2 || !r.UpdatedAt.Equal(e.clock.now()) || !r.CreatedAt.Equal(s.CreatedAt) {
			t.Fatalf("rotated: %+v", r)
		}
		after := ciphertextOf(t, db, s.ID)
		if bytes.Equal(before, after) || bytes.Contains(after, before) {
			t.Fatal("the old ciphertext is still in the row")
		}
		if v := e.reveal(t, s.ID); v.Text() != "crm-key-version-two" {
			t.Fatalf("after rotate: %q", v.Text())
		}
		_, err = e.svc.Rotate(ctx, e.a, s.ID, json.RawMessage(`{"access_token":"x"}`), nil)
		wantKind(t, "wrong shape for the type", err, errs.Invalid, "value: must be a JSON string for type api_key")
		_, err = e.svc.Rotate(ctx, e.aMem, s.ID, json.RawMessage(`"x"`), nil)
		wantKind(t, "member rotates", err, errs.Forbidden, "secrets.manage")
		if !strings.Contains(auditDump(t, db), `secret.rotate secret:`+s.ID) {
			t.Fatal("rotate not audited")
		}
	})
}

func TestCiphertextIsBoundToItsRowVersionAndTenant(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		one := e.create(t, e.a, "one", secrets.Password, `"value-of-one"`)
		two := e.create(t, e.a, "two", secrets.Password, `"value-of-two"`)
		ctOne := ciphertextOf(t, db, one.ID)
		// Moved to another row of the same organization.
		exec(t, db, "UPDATE secrets SET ciphertext = ? WHERE id = ?", ctOne, two.ID)
		_, _, err := e.svc.Reveal(ctx, e.aTok, two.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "ciphertext moved to another row", err, errs.Integrity, "")
		// Its version changed under it (a rollback to an old version).
		exec(t, db, "UPDATE secrets SET version = 2 WHERE id = ?", one.ID)
		_, _, err = e.svc.Reveal(ctx, e.aTok, one.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "version changed", err, errs.Integrity, "")
		exec(t, db, "UPDATE secrets SET version = 1 WHERE id = ?", one.ID)
		e.reveal(t, one.ID)
		// Moved to another tenant's row.
		b := e.create(t, e.b, "b", secrets.Password, `"value-of-b"`)
		exec(t, db, "UPDATE secrets SET ciphertext = ? WHERE id = ?", ctOne, b.ID)
		_, _, err = e.svc.Reveal(ctx, e.b, b.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "ciphertext moved to another tenant", err, errs.Integrity, "")
		// A flipped byte.
		bad := append([]byte(nil), ctOne...)
		bad[len(bad)-1] ^= 1
		exec(t, db, "UPDATE secrets SET ciphertext = ? WHERE id = ?", bad, one.ID)
		_, _, err = e.svc.Reveal(ctx, e.aTok, one.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "flipped byte", err, errs.Integrity, "")
		// The type changed under it: the value's shape gives it away.
		exec(t, db, "UPDATE secrets SET ciphertext = ?, type = ? WHERE id = ?", ctOne, "oauth_token", one.ID)
		_, _, err = e.svc.Reveal(ctx, e.aTok, one.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "type changed", err, errs.Integrity, "")
		if a := auditDump(t, db); !strings.Contains(a, `"reason":"integrity"`) {
			t.Fatalf("integrity failures are not audited: %s", a)
		}
	})
}

func TestRevokeDestroysTheValueAndPublishesATombstone(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "payroll", secrets.Password, `"payroll-password-99"`)
		e.clock.advance(time.Hour)
		r, err := e.svc.Revoke(ctx, e.a, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != secrets.StatusRevoked || r.RevokedAt == nil || !r.RevokedAt.Equal(e.clock.now()) {
			t.Fatalf("revoked: %+v", r)
		}
		if ct := ciphertextOf(t, db, s.ID); ct != nil {
			t.Fatalf("the ciphertext survived the revocation: %x", ct)
		}
		if raw := rawRow(t, db, s.ID); !strings.Contains(raw, "user:alice") {
			t.Fatalf("revoked_by not stored: %s", raw)
		}
		_, _, err = e.svc.Reveal(ctx, e.aTok, s.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "reveal after revoke", err, errs.Shredded, "was revoked at 2026-11-25T11:00:00Z; its value was destroyed")
		_, err = e.svc.Use(ctx, e.aTok, s.ID, "x")
		wantKind(t, "use after revoke", err, errs.Shredded, "was revoked")
		_, err = e.svc.Rotate(ctx, e.a, s.ID, json.RawMessage(`"new"`), nil)
		wantKind(t, "rotate after revoke", err, errs.Shredded, "can never be read or replaced")
		_, err = e.svc.Revoke(ctx, e.a, s.ID)
		wantKind(t, "revoke twice", err, errs.Shredded, "was revoked")
		// The metadata stays listable.
		page, err := e.svc.List(ctx, e.a, secrets.ListOptions{Status: secrets.StatusRevoked})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != s.ID {
			t.Fatalf("revoked listing: %v %+v", err, page)
		}
		if p, _ := e.svc.List(ctx, e.a, secrets.ListOptions{Status: secrets.StatusActive}); len(p.Items) != 0 {
			t.Fatalf("a revoked secret is listed as active: %+v", p)
		}
		want := tombstone.Tombstone{Kind: tombstone.Secret, Org: e.orgA, ID: s.ID, At: e.clock.now()}
		if len(e.pub.list) != 1 || e.pub.list[0] != want {
			t.Fatalf("published %+v, want %+v", e.pub.list, want)
		}
		all, err := e.svc.Tombstones(ctx)
		if err != nil || len(all) != 1 || all[0] != want {
			t.Fatalf("tombstones: %v %+v", err, all)
		}
		audit := auditDump(t, db)
		if !strings.Contains(audit, "user:alice secret.revoke secret:"+s.ID+" success") ||
			!strings.Contains(audit, "token:alice secret.reveal secret:"+s.ID+" failure") {
			t.Fatalf("audit: %s", audit)
		}
		// A failing backup target does not undo the revocation; it is logged.
		e.pub.fail = true
		s2 := e.create(t, e.a, "payroll", secrets.Password, `"payroll-password-100"`)
		if _, err := e.svc.Revoke(ctx, e.a, s2.ID); err != nil {
			t.Fatalf("revoke with a failing publisher: %v", err)
		}
		if !strings.Contains(e.logs.String(), "cannot publish the tombstone") || strings.Contains(e.logs.String(), "payroll-password") {
			t.Fatalf("log: %s", e.logs.String())
		}
	})
}

func TestExpiredSecretsCannotBeRead(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		exp := e.clock.now().Add(time.Hour)
		s, err := e.svc.Create(ctx, e.a, secrets.Spec{Name: "temp", Type: secrets.Password, Value: json.RawMessage(`"temporary-pw-1"`), ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(59 * time.Minute)
		e.reveal(t, s.ID)
		e.clock.advance(time.Minute)
		_, _, err = e.svc.Reveal(ctx, e.aTok, s.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "reveal at expiry", err, errs.Shredded, "expired at 2026-11-25T11:00:00Z")
		_, err = e.svc.Use(ctx, e.aTok, s.ID, "x")
		wantKind(t, "use after expiry", err, errs.Shredded, "expired")
		if g, _ := e.svc.Get(ctx, e.a, s.ID); g.Status != secrets.StatusExpired {
			t.Fatalf("status: %+v", g)
		}
		if p, _ := e.svc.List(ctx, e.a, secrets.ListOptions{Status: secrets.StatusExpired}); len(p.Items) != 1 {
			t.Fatalf("expired listing: %+v", p)
		}
		// A new value alone does not bring it back; a new value with a
		// new expiry does.
		_, err = e.svc.Rotate(ctx, e.a, s.ID, json.RawMessage(`"temporary-pw-2"`), nil)
		wantKind(t, "rotate without a new expiry", err, errs.Shredded, "give it a new value with a new expires_at")
		later := e.clock.now().Add(24 * time.Hour)
		r, err := e.svc.Rotate(ctx, e.a, s.ID, json.RawMessage(`"temporary-pw-2"`), &later)
		if err != nil || r.Status != secrets.StatusActive || r.Version != 2 || !r.ExpiresAt.Equal(later) {
			t.Fatalf("renew: %v %+v", err, r)
		}
		if v := e.reveal(t, s.ID); v.Text() != "temporary-pw-2" {
			t.Fatalf("after renewal: %q", v.Text())
		}
	})
}

func TestRefreshedOAuthTokenKeepsTheRefreshToken(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "gmail", secrets.OAuthToken, `{"access_token":"at-1","refresh_token":"rt-1","token_type":"Bearer"}`)
		gw := e.aTok
		gw.TokenPermissions = []authz.Permission{authz.SecretsUse}
		r, err := e.svc.UpdateValue(ctx, gw, s.ID, json.RawMessage(`{"access_token":"at-2","token_type":"Bearer","expires_in":3600}`))
		if err != nil || r.Version != 2 {
			t.Fatalf("refresh: %v %+v", err, r)
		}
		o, _ := e.reveal(t, s.ID).OAuth()
		if o.AccessToken != "at-2" || o.RefreshToken != "rt-1" || o.ExpiresIn != 3600 {
			t.Fatalf("after refresh: %+v", o)
		}
		if _, err := e.svc.UpdateValue(ctx, gw, s.ID, json.RawMessage(`{"access_token":"at-3","refresh_token":"rt-2"}`)); err != nil {
			t.Fatal(err)
		}
		if o, _ := e.reveal(t, s.ID).OAuth(); o.RefreshToken != "rt-2" {
			t.Fatalf("rotated refresh token not stored: %+v", o)
		}
		pw := e.create(t, e.a, "pw", secrets.Password, `"pw-value-1"`)
		_, err = e.svc.UpdateValue(ctx, gw, pw.ID, json.RawMessage(`{"access_token":"x"}`))
		wantKind(t, "refresh of a password", err, errs.Invalid, "is a password, not an oauth_token")
		_, err = e.svc.UpdateValue(ctx, gw, s.ID, json.RawMessage(`{"token_type":"Bearer"}`))
		wantKind(t, "refresh without an access token", err, errs.Invalid, "value.access_token: required")
		if !strings.Contains(auditDump(t, db), "secret.refresh secret:"+s.ID) {
			t.Fatal("refresh not audited")
		}
	})
}

func TestAnotherOrganizationsSecretsAreNotFound(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "a-only", secrets.Password, `"a-only-value"`)
		_, err := e.svc.Get(ctx, e.b, s.ID)
		wantKind(t, "get", err, errs.NotFound, "no such secret")
		_, _, err = e.svc.Reveal(ctx, e.b, s.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "reveal", err, errs.NotFound, "no such secret")
		_, err = e.svc.Use(ctx, e.b, s.ID, "x")
		wantKind(t, "use", err, errs.NotFound, "no such secret")
		_, err = e.svc.Rotate(ctx, e.b, s.ID, json.RawMessage(`"overwrite"`), nil)
		wantKind(t, "rotate", err, errs.NotFound, "no such secret")
		_, err = e.svc.UpdateValue(ctx, e.b, s.ID, json.RawMessage(`{"access_token":"x"}`))
		wantKind(t, "update value", err, errs.NotFound, "no such secret")
		_, err = e.svc.Revoke(ctx, e.b, s.ID)
		wantKind(t, "revoke", err, errs.NotFound, "no such secret")
		_, err = e.svc.Get(ctx, e.a, "not-a-uuid")
		wantKind(t, "malformed id", err, errs.NotFound, "no such secret")
		if p, _ := e.svc.List(ctx, e.b, secrets.ListOptions{}); len(p.Items) != 0 {
			t.Fatalf("B lists A's secret: %+v", p)
		}
		e.reveal(t, s.ID)
		if a := auditDump(t, db); strings.Contains(a, "token:bob secret.") {
			t.Fatalf("B's probes were audited against A's secret: %s", a)
		}
	})
}

func TestListPagesOldestFirst(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var ids []string
		for i := range 5 {
			ids = append(ids, e.create(t, e.a, fmt.Sprintf("s%d", i), secrets.Password, `"v-`+fmt.Sprint(i)+`"`).ID)
			if i%2 == 0 {
				e.clock.advance(time.Second) // some share a created_at
			}
		}
		var got []string
		cursor := ""
		for range 5 {
			p, err := e.svc.List(ctx, e.a, secrets.ListOptions{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Items {
				got = append(got, s.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(got) != 5 {
			t.Fatalf("pages returned %d secrets: %v", len(got), got)
		}
		seen := map[string]bool{}
		for _, id := range got {
			seen[id] = true
		}
		for _, id := range ids {
			if !seen[id] {
				t.Fatalf("secret %s missing from the pages", id)
			}
		}
		_, err := e.svc.List(ctx, e.a, secrets.ListOptions{Limit: 201})
		wantKind(t, "limit", err, errs.Invalid, "limit must be between 1 and 200")
	})
}

func TestApplyTombstoneAndPurgeOrg(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.create(t, e.a, "restored", secrets.Password, `"restored-value-1"`)
		keep := e.create(t, e.a, "kept", secrets.Password, `"kept-value-1"`)
		at := e.clock.now().Add(-time.Hour)
		apply := func(tb tombstone.Tombstone) error {
			return db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return e.svc.ApplyTombstone(ctx, tx, tb) })
		}
		if err := apply(tombstone.Tombstone{Kind: tombstone.Secret, Org: e.orgA, ID: s.ID, At: at}); err != nil {
			t.Fatal(err)
		}
		if ct := ciphertextOf(t, db, s.ID); ct != nil {
			t.Fatal("ApplyTombstone left the ciphertext")
		}
		g, _ := e.svc.Get(ctx, e.a, s.ID)
		if g.Status != secrets.StatusRevoked || !g.RevokedAt.Equal(at) {
			t.Fatalf("after the tombstone: %+v", g)
		}
		_, _, err := e.svc.Reveal(ctx, e.aTok, s.ID, secrets.RevealRequest{Purpose: "x"})
		wantKind(t, "reveal after tombstone", err, errs.Shredded, "was revoked")
		// Applying it again, or for a secret the database lacks, is a no-op.
		if err := apply(tombstone.Tombstone{Kind: tombstone.Secret, Org: e.orgA, ID: s.ID, At: at}); err != nil {
			t.Fatal(err)
		}
		if err := apply(tombstone.Tombstone{Kind: tombstone.Secret, Org: e.orgA, ID: "00000000-0000-4000-8000-000000000000", At: at}); err != nil {
			t.Fatal(err)
		}
		wantKind(t, "org tombstone", apply(tombstone.Tombstone{Kind: tombstone.Org, Org: e.orgA, At: at}), errs.Invalid, "not a secret tombstone")
		if n := strings.Count(auditDump(t, db), "system secret.tombstone_applied"); n != 1 {
			t.Fatalf("%d tombstone audit entries, want 1", n)
		}
		e.reveal(t, keep.ID)
		e.create(t, e.b, "b-stays", secrets.Password, `"b-value-1"`)
		if err := db.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return e.svc.PurgeOrg(ctx, tx, e.orgA) }); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.svc.List(ctx, e.a, secrets.ListOptions{}); len(p.Items) != 0 {
			t.Fatalf("PurgeOrg left %d secrets", len(p.Items))
		}
		if p, _ := e.svc.List(ctx, e.b, secrets.ListOptions{}); len(p.Items) != 1 {
			t.Fatalf("PurgeOrg touched another organization: %+v", p)
		}
	})
}

func TestMetadataCanBeReplacedButStaysNonSecret(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s, err := e.svc.Create(ctx, e.a, secrets.Spec{Name: "vpn", Type: secrets.Password, Value: json.RawMessage(`"vpn-pw-1234"`),
			Metadata: json.RawMessage(`{"description":"old"}`)})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)
		u, err := e.svc.UpdateMetadata(ctx, e.a, s.ID, json.RawMessage(`{"description":"office VPN","username":"ops","port":1194,"shared":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if string(u.Metadata) != `{"description":"office VPN","port":1194,"shared":true,"username":"ops"}` || u.Version != 1 || !u.UpdatedAt.Equal(e.clock.now()) {
			t.Fatalf("updated: %+v %s", u, u.Metadata)
		}
		if v := e.reveal(t, s.ID); v.Text() != "vpn-pw-1234" {
			t.Fatal("the value changed with the metadata")
		}
		_, err = e.svc.UpdateMetadata(ctx, e.a, s.ID, json.RawMessage(`{"bearer":"x"}`))
		wantKind(t, "secret-named field", err, errs.Invalid, "metadata.bearer: the name says it holds a credential")
		_, err = e.svc.UpdateMetadata(ctx, e.aMem, s.ID, json.RawMessage(`{}`))
		wantKind(t, "member", err, errs.Forbidden, "secrets.manage")
		_, err = e.svc.UpdateMetadata(ctx, e.b, s.ID, json.RawMessage(`{}`))
		wantKind(t, "other organization", err, errs.NotFound, "no such secret")
		if _, err := e.svc.Revoke(ctx, e.a, s.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.UpdateMetadata(ctx, e.a, s.ID, json.RawMessage(`{}`))
		wantKind(t, "revoked", err, errs.Shredded, "was revoked")
		if a := auditDump(t, db); !strings.Contains(a, `secret.update secret:`+s.ID) || !strings.Contains(a, `"metadata_fields":["description","port","shared","username"]`) {
			t.Fatalf("audit: %s", a)
		}
	})
}
