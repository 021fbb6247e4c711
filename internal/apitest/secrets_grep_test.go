package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	otp "github.com/pquerna/otp"

	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
	"github.com/rampart-platform/rampart/internal/totp"
)

// The grep test: a scenario handles every kind of secret Rampart sees
// (passwords right and wrong, a TOTP secret, recovery codes, session
// tokens, API tokens, the one-time tokens of invitations, resets and the
// bootstrap, and the passwords set through them), then searches for each secret, in every encoding it
// could plausibly be written in, in:
//   - the instance's captured log;
//   - the whole audit_events table, every column;
//   - every table of the database, every column (a logical dump);
//   - on SQLite, every file under the data directory as raw bytes (the
//     database, its -wal and -shm, the key and TLS files) except the mail
//     outbox, whose messages carry one-time links by design.
//
// The TOTP secret is stored encrypted and every token hashed, so the raw
// files must not hold any of them: this is what proves it.

func TestSecretsNeverStored(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { secretsScenario(t, d) })
	}
}

// grepSecrets maps each secret's encodings to a label naming it.
type grepSecrets map[string]string

// add records value under label. Values shorter than 8 bytes would match
// by chance and are refused.
func (s grepSecrets) add(t *testing.T, label, value string) {
	t.Helper()
	if len(value) < 8 {
		t.Fatalf("secret %s is too short to search for: %q", label, value)
	}
	s[value] = label
}

// addToken records a token with and without its prefix ("rps_..."): a
// redactor that cut the prefix and kept the rest would still leak it.
func (s grepSecrets) addToken(t *testing.T, label, token string) {
	t.Helper()
	s.add(t, label, token)
	if i := strings.IndexByte(token, '_'); i > 0 && i < 8 {
		s.add(t, label+" without its prefix", token[i+1:])
	}
}

// addBytes records raw bytes and the encodings a log or JSON writer would
// use for them.
func (s grepSecrets) addBytes(t *testing.T, label string, raw []byte) {
	t.Helper()
	s.add(t, label+" (raw)", string(raw))
	s.add(t, label+" (hex)", hex.EncodeToString(raw))
	s.add(t, label+" (base64)", base64.StdEncoding.EncodeToString(raw))
	s.add(t, label+" (base64url)", base64.RawURLEncoding.EncodeToString(raw))
	s.add(t, label+" (base32)", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
}

// find returns the labels of the secrets in hay.
func (s grepSecrets) find(hay []byte) []string {
	var out []string
	for v, label := range s {
		if bytes.Contains(hay, []byte(v)) {
			out = append(out, label)
		}
	}
	return out
}

func secretsScenario(t *testing.T, d store.Dialect) {
	in := start(t, d)
	ctx := context.Background()
	secrets := grepSecrets{}

	org, err := in.data.CreateOrganization(ctx, "operator:test", "Vault Keepers", "keepers")
	if err != nil {
		t.Fatal(err)
	}
	// Each password is unique to this run, so a match cannot be chance.
	pwFirst, pwSecond, pwColleague := grepPassword(), grepPassword(), grepPassword()
	wrong := grepPassword()
	secrets.add(t, "first password", pwFirst)
	secrets.add(t, "changed password", pwSecond)
	secrets.add(t, "colleague's password", pwColleague)
	secrets.add(t, "wrong password", wrong)
	for _, u := range []struct{ email, pw, role string }{{"chief@keepers.test", pwFirst, "owner"}, {"aide@keepers.test", pwColleague, "member"}} {
		if _, err := in.data.Identity.CreateUserAsOperator(ctx, "operator:test", org.ID, identity.NewUser{Email: u.email, Password: u.pw, Roles: []string{u.role}}); err != nil {
			t.Fatal(err)
		}
	}

	// Failed logins: a wrong password for a real account and for an
	// unknown one are both secrets (a typo is close to the real password).
	c := in.client(t)
	c.expect(401, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "chief@keepers.test", "password": wrong})
	c.expect(401, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "ghost@keepers.test", "password": wrong})

	r := c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "chief@keepers.test", "password": pwFirst})
	secrets.addToken(t, "session token", grepSessionToken(t, r))

	// TOTP enrolment: the secret as the otpauth URI shows it (base32) and
	// as stored before encryption (raw bytes).
	enr := c.expect(200, "POST", "/api/v1/me/totp", nil)
	key, err := otp.NewKeyFromURL(enr.body["otpauth_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rawSecret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(key.Secret()))
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(t, "TOTP secret (base32, as in the URI)", key.Secret())
	secrets.addBytes(t, "TOTP secret", rawSecret)
	secrets.add(t, "otpauth URI", enr.body["otpauth_uri"].(string))
	conf := c.expect(200, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": totpCode(t, key.Secret(), time.Now())})
	var codes []string
	for _, x := range conf.body["recovery_codes"].([]any) {
		code := x.(string)
		codes = append(codes, code)
		norm := totp.NormalizeRecoveryCode(code)
		secrets.add(t, "recovery code (display form)", code)
		secrets.add(t, "recovery code (normalised form)", norm)
		secrets.add(t, "recovery code (lower case)", strings.ToLower(norm))
	}
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %s", conf.raw)
	}

	// An API token, used and revoked.
	tok := c.expect(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "deploy", "permissions": []string{"members.read"}, "expires_in_seconds": 600})
	apiToken := tok.body["token"].(string)
	secrets.addToken(t, "API token", apiToken)
	bearer := in.client(t)
	bearer.bearer = apiToken
	bearer.expect(200, "GET", "/api/v1/members", nil)
	c.expect(204, "DELETE", "/api/v1/me/tokens/"+tok.body["id"].(string), nil)
	bearer.expect(401, "GET", "/api/v1/members", nil)

	// A password change, a wrong current password, then sign-in with
	// both factors: a TOTP code, then a recovery code typed as printed and
	// one typed normalised.
	c.expect(401, "POST", "/api/v1/me/password", map[string]string{"current_password": wrong, "new_password": pwSecond})
	c.expect(204, "POST", "/api/v1/me/password", map[string]string{"current_password": pwFirst, "new_password": pwSecond})
	c.expect(204, "POST", "/api/v1/auth/logout", nil)
	for _, second := range []string{totpCode(t, key.Secret(), time.Now().Add(30*time.Second)), codes[0], strings.ToLower(totp.NormalizeRecoveryCode(codes[1]))} {
		r := c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "chief@keepers.test", "password": pwSecond})
		secrets.addToken(t, "session token before the second factor", grepSessionToken(t, r))
		c.expect(401, "POST", "/api/v1/auth/mfa", map[string]string{"code": "ZZZZZ-ZZZZZ"}) // a wrong code first
		m := c.expect(200, "POST", "/api/v1/auth/mfa", map[string]string{"code": second})
		secrets.addToken(t, "session token after the second factor", grepSessionToken(t, m))
		c.expect(200, "GET", "/api/v1/me", nil)
		c.expect(204, "POST", "/api/v1/auth/logout", nil)
	}
	// A used recovery code is refused, and is still a secret.
	c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "chief@keepers.test", "password": pwSecond})
	c.expect(401, "POST", "/api/v1/auth/mfa", map[string]string{"code": codes[0]})
	m := c.expect(200, "POST", "/api/v1/auth/mfa", map[string]string{"code": codes[2]})
	secrets.addToken(t, "session token after the second factor", grepSessionToken(t, m))

	// A colleague signs in; the owner revokes the colleague's sessions.
	aide := in.client(t)
	ar := aide.expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": "aide@keepers.test", "password": pwColleague})
	secrets.addToken(t, "colleague's session token", grepSessionToken(t, ar))
	aideID := aide.expect(200, "GET", "/api/v1/me", nil).body["id"].(string)
	c.expect(200, "POST", "/api/v1/sessions/revoke-all", map[string]any{"user": aideID})
	aide.expect(401, "GET", "/api/v1/me", nil)

	grepOneTimeFlows(t, in, secrets, c, "aide@keepers.test")

	grepCheck(t, in, secrets)
}

// grepOneTimeFlows runs the single-use link flows end to end: an
// invitation accepted with a new password, a password reset confirmed with
// another, and the bootstrap of the first platform operator, who then
// creates an organization. The tokens are read from the outbox (mail is the
// one place they may be written) and from the bootstrap link, which the
// server prints to the terminal only.
func grepOneTimeFlows(t *testing.T, in *instance, secrets grepSecrets, owner *client, colleague string) {
	ctx := context.Background()
	owner.expect(201, "POST", "/api/v1/invites", map[string]any{"email": "newcomer@keepers.test", "roles": []string{"member"}})
	invite := grepAwaitMail(t, in, "rpi_")
	secrets.addToken(t, "invitation token", invite)
	pwNewcomer := grepPassword()
	secrets.add(t, "invitee's password", pwNewcomer)
	newcomer := in.client(t)
	r := newcomer.expect(200, "POST", "/api/v1/invites/accept", map[string]any{"token": invite, "password": pwNewcomer})
	secrets.addToken(t, "invitee's session token", grepSessionToken(t, r))
	newcomer.expect(200, "GET", "/api/v1/me", nil)
	if r := in.client(t).do("POST", "/api/v1/invites/accept", map[string]any{"token": invite, "password": pwNewcomer}); r.status < 400 {
		t.Fatalf("a used invitation was accepted again: %d %s", r.status, r.raw)
	}

	in.client(t).expect(202, "POST", "/api/v1/auth/password-reset", map[string]any{"organization": "keepers", "email": colleague})
	reset := grepAwaitMail(t, in, "rpr_")
	secrets.addToken(t, "reset token", reset)
	pwReset := grepPassword()
	secrets.add(t, "password set by the reset", pwReset)
	in.client(t).expect(200, "POST", "/api/v1/auth/password-reset/confirm", map[string]any{"token": reset, "password": pwReset})
	r = in.client(t).expect(200, "POST", "/api/v1/auth/login", map[string]string{"organization": "keepers", "email": colleague, "password": pwReset})
	secrets.addToken(t, "session token after the reset", grepSessionToken(t, r))

	link, err := in.data.Identity.IssueBootstrapLink(ctx, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	boot := regexp.MustCompile(`rpb_[A-Za-z0-9_-]{43}`).FindString(link.URL)
	if boot == "" {
		t.Fatal("no bootstrap token in the bootstrap link")
	}
	secrets.addToken(t, "bootstrap token", boot)
	secrets.add(t, "bootstrap link", link.URL)
	pwOperator := grepPassword()
	secrets.add(t, "operator's password", pwOperator)
	op := in.client(t)
	r = op.expect(201, "POST", "/api/v1/bootstrap", map[string]any{"token": boot, "email": "root@platform.test", "password": pwOperator})
	secrets.addToken(t, "operator's session token", grepSessionToken(t, r))
	op.expect(201, "POST", "/api/v1/organizations", map[string]any{"name": "Made By API", "slug": "made-by-api"})
}

// grepAwaitMail waits for a message in the outbox holding a token with
// prefix that was not returned before (mail is sent in the background) and
// returns the token.
func grepAwaitMail(t *testing.T, in *instance, prefix string) string {
	t.Helper()
	token := regexp.MustCompile(prefix + `[A-Za-z0-9_-]{43}`)
	outbox := filepath.Join(in.data.Config.DataDir, "outbox")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(outbox)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(outbox, e.Name())) // #nosec G304 -- a file the test instance wrote under its temp dir
			if err != nil {
				continue
			}
			// Mail bodies may be quoted-printable: undo soft line breaks.
			b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("=\r\n"), nil), []byte("=\n"), nil)
			if m := token.Find(b); m != nil {
				return string(m)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s token reached the outbox %s within 10s", prefix, outbox)
	return ""
}

// grepCheck searches the log, the audit table, every table and (on
// SQLite) the data directory's files.
func grepCheck(t *testing.T, in *instance, secrets grepSecrets) {
	t.Helper()
	t.Logf("searching for %d secret encodings", len(secrets))
	if found := secrets.find([]byte(in.logs.String())); len(found) > 0 {
		t.Errorf("the log contains: %q", found)
	}
	if len(in.logs.String()) == 0 {
		t.Error("the captured log is empty: the search proves nothing")
	}

	db := in.data.DB
	audit, err := xtDumpRows(db, "SELECT * FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) < 20 {
		t.Errorf("only %d audit events: the scenario should have written more", len(audit))
	}
	// dumpRows writes BLOBs in hex; search the raw bytes of BLOBs too.
	auditRaw, err := grepRawRows(db, "SELECT * FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	if found := secrets.find([]byte(strings.Join(audit, "\n") + "\n" + auditRaw)); len(found) > 0 {
		t.Errorf("the audit_events table contains: %q", found)
	}

	tablesQ := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if db.Dialect() == store.Postgres {
		tablesQ = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	tables, err := xtDumpRows(db, tablesQ)
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		tbl = strings.TrimSuffix(tbl, "|")
		raw, err := grepRawRows(db, "SELECT * FROM "+tbl)
		if err != nil {
			t.Fatalf("dump %s: %v", tbl, err)
		}
		hexed, _ := xtDumpRows(db, "SELECT * FROM "+tbl)
		if found := secrets.find([]byte(raw + strings.Join(hexed, "\n"))); len(found) > 0 {
			t.Errorf("table %s contains: %q", tbl, found)
		}
	}
	t.Logf("searched the log (%d bytes), %d audit events and %d tables", len(in.logs.String()), len(audit), len(tables))

	if db.Dialect() != store.SQLite {
		return
	}
	dir := in.data.Config.DataDir
	var files []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "outbox" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path) // #nosec G304 -- a file of the test instance's temp data dir
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, rel+" ("+strconv.Itoa(len(b))+" bytes)")
		if found := secrets.find(b); len(found) > 0 {
			t.Errorf("file %s contains: %q", rel, found)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !grepHasPrefix(files, "rampart.db ") {
		t.Errorf("the SQLite database was not among the files searched: %v", files)
	}
	t.Logf("searched the files %v", files)
}

// grepRawRows runs q and returns every value as its raw bytes or text.
func grepRawRows(db *store.DB, q string) (string, error) {
	var b strings.Builder
	err := db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		rs, err := tx.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rs.Close()
		cols, err := rs.Columns()
		if err != nil {
			return err
		}
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
				switch x := v.(type) {
				case []byte:
					b.Write(x)
				case string:
					b.WriteString(x)
				}
				b.WriteByte('\n')
			}
		}
		return rs.Err()
	})
	return b.String(), err
}

func grepSessionToken(t *testing.T, r response) string {
	t.Helper()
	tok := xtSessionToken(r)
	if !strings.HasPrefix(tok, "rps_") {
		t.Fatalf("no session token in the answer's Set-Cookie: %v", r.header.Values("Set-Cookie"))
	}
	return tok
}

// grepPassword returns a passphrase unique to this run that passes the
// default policy.
func grepPassword() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "quartz lantern " + base64.RawURLEncoding.EncodeToString(b[:])
}

func grepHasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
