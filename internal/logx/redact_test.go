package logx

import (
	"strings"
	"testing"
)

func TestIsSecretKey(t *testing.T) {
	secret := []string{
		"password", "Password", "PASSWORD", "new_password", "newPassword", "passwd", "pwd",
		"db_pass", "passphrase", "secret", "client_secret", "clientSecret", "token",
		"access_token", "accessToken", "refreshToken", "refresh-token", "id_token",
		"IDToken", "x-auth-token", "authorization", "Authorization", "proxy-authorization",
		"cookie", "Set-Cookie", "set-cookie", "api_key", "apiKey", "APIKey", "x-api-key",
		"X-Api-Key", "apikey", "otp", "totp_code", "code", "codes", "otp_code", "auth_code",
		"recovery_code", "recoveryCodes", "verification_code", "private_key", "privateKey",
		"key_material", "root_key", "rootkey", "key", "signing_key", "session", "session_id",
		"sessionID", "csrf", "csrf_token", "xsrf-token", "signature", "sig", "credential",
		"credentials", "aws_credentials", "creds", "dsn", "database_url", "DATABASE_URL",
		"db_url", "jwt", "pin", "mnemonic", "bearer", "dek", "access_token_hash",
		"code_verifier", "key_value",
	}
	public := []string{
		"key_id", "keyId", "kid", "keyset_version", "keyset", "org", "action", "error_code",
		"errorCode", "status_code", "StatusCode", "http_code", "HTTPCode", "exit_code",
		"country_code", "public_key", "publicKey", "cache_key", "idempotency_key",
		"token_type", "token_id", "tokenExpiresAt", "token_expires_at", "page_token",
		"next_token", "otp_enabled", "jwt_kid", "code_length", "user", "user_id", "email",
		"request_id", "monkey", "hotpath", "passage", "status", "keys_count", "dek_id",
		"token_url", "key_file", "",
	}
	for _, k := range secret {
		if !IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false, want true", k)
		}
	}
	for _, k := range public {
		if IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true, want false", k)
		}
	}
}

func TestRedactStringKnownAnswers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nothing to see here", "nothing to see here"},
		{"Authorization: Bearer abc.def-ghi\nAccept: */*", "Authorization: [REDACTED]\nAccept: */*"},
		{"sent bearer abc123 to upstream", "sent bearer [REDACTED] to upstream"},
		{"Basic dXNlcjpwYXNz", "Basic [REDACTED]"},
		{"basic auth is disabled", "basic auth is disabled"},
		{"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln.", "token [REDACTED]."},
		{"dial tcp: password=hunter2 host=db", "dial tcp: password=[REDACTED] host=db"},
		{"host=db user=app password='hunter 2' sslmode=require", "host=db user=app password='[REDACTED]' sslmode=require"},
		{`{"user":"bob","password":"hunter2"}`, `{"user":"bob","password":"[REDACTED]"}`},
		{`{"password" : "a \"quoted\" pw"}`, `{"password" : "[REDACTED]"}`},
		{`body: {\"password\":\"hunter2\"}`, `body: {\"password\":\"[REDACTED]\"}`},
		{`{"session":{"id":"s1","org":"o"},"ok":true}`, `{"session":[REDACTED],"ok":true}`},
		{"postgres://app:s3cr3t@db:5432/rampart?sslmode=disable", "postgres://app:[REDACTED]@db:5432/rampart?sslmode=disable"},
		{"app:s3cr3t@tcp(db:3306)/rampart", "app:[REDACTED]@tcp(db:3306)/rampart"},
		{"https://ghp_abcdefghijklmnopqrstu@github.com/x", "https://[REDACTED]@github.com/x"},
		{"https://git@example.com/x", "https://git@example.com/x"},
		{"GET /cb?code=abc&state=xyz&access_token=t0k HTTP/1.1", "GET /cb?code=[REDACTED]&state=xyz&access_token=[REDACTED] HTTP/1.1"},
		{"GET /cb?error_code=E1&page_token=p2", "GET /cb?error_code=E1&page_token=p2"},
		{"{User:bob Password:hunter2}", "{User:bob Password:[REDACTED]}"},
		{"map[Authorization:[Bearer x] Accept:[*/*]]", "map[Authorization:[REDACTED] Accept:[*/*]]"},
		{"--password=hunter2 --verbose", "--password=[REDACTED] --verbose"},
		{"api key=abc public key=def status code: 500", "api key=[REDACTED] public key=def status code: 500"},
		{"session.Create: unavailable: dial tcp: i/o timeout", "session.Create: unavailable: dial tcp: i/o timeout"},
		{"invalid token: signature mismatch", "invalid token: [REDACTED]"},
		{"use rpt_0123456789abcdefXYZ_- now", "use [REDACTED] now"},
		{"rps_AAAAAAAAAAAAAAAA rpr_BBBBBBBBBBBBBBBB rpi_CCCCCCCCCCCCCCCC rpb_DDDDDDDDDDDDDDDD", "[REDACTED] [REDACTED] [REDACTED] [REDACTED]"},
		{"rpt_short is not a token", "rpt_short is not a token"},
		{"AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQS", "[REDACTED]"},
		{"k: -----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\nok", "k: [REDACTED]\nok"},
		{"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN (truncated", "[REDACTED]"},
		{"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
		{"password=[REDACTED]", "password=[REDACTED]"},
		{"password=[REDACTED]tail", "password=[REDACTED]"},
	} {
		if got := RedactString(tc.in); got != tc.want {
			t.Errorf("RedactString(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactStringDoesNotAllocateForCleanText(t *testing.T) {
	s := "GET /v1/orgs/acme/keys?limit=10 status=200 took=1.2ms user=alice@example.com"
	if n := testing.AllocsPerRun(100, func() { _ = RedactString(s) }); n != 0 {
		t.Errorf("RedactString allocated %v times on clean text", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsSecretKey("keyset_version") }); n != 0 {
		t.Errorf("IsSecretKey allocated %v times", n)
	}
}

func TestRedactStringStaysLinearOnHostileInput(t *testing.T) {
	// Each of these would be quadratic if a rule rescanned its own match.
	for _, unit := range []string{"rpt_", "eyJ.", "password=", "-----BEGIN A PRIVATE KEY-----", "://a:b@", "x@tcp(", "Bearer "} {
		s := strings.Repeat(unit, 200_000/len(unit))
		if n := testing.AllocsPerRun(1, func() { _ = RedactString(s) }); n > 100 {
			t.Errorf("%q repeated: %v allocations", unit, n)
		}
	}
}

// FuzzRedactString checks that RedactString never panics, is idempotent,
// and never lets a planted secret through, whatever surrounds it.
func FuzzRedactString(f *testing.F) {
	for _, seed := range []string{
		"", "password=", "Bearer ", "://u:", "@tcp(", "eyJ", "eyJa.b", "rpt_", "AGE-SECRET-KEY-1",
		"-----BEGIN RSA PRIVATE KEY-----\n", `{"token":"`, "Authorization: ", "[REDACTED]",
		"password=[REDACTED]", "status code: ", "\\\"", "map[token:",
	} {
		f.Add(seed, "")
		f.Add("", seed)
		f.Add(seed, seed)
	}
	const (
		token   = "rpt_Zq9xT3vLk2Wm8RbN4pHs"
		payload = "eyJzdWIiOiJ1c2VyLTQyIn0"
		jwt     = "eyJhbGciOiJIUzI1NiJ9." + payload + ".c2lnbmF0dXJlLXZhbHVl"
	)
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		out := RedactString(prefix + suffix)
		if again := RedactString(out); again != out {
			t.Fatalf("not idempotent:\n once %q\ntwice %q", out, again)
		}
		for _, planted := range []struct{ secret, mark string }{
			{token, token[4:]},
			{jwt, payload},
		} {
			in := prefix + planted.secret + suffix
			out := RedactString(in)
			if strings.Contains(out, planted.secret) ||
				!strings.Contains(prefix+suffix, planted.mark) && strings.Contains(out, planted.mark) {
				t.Fatalf("planted secret survived:\n in %q\nout %q", in, out)
			}
			if again := RedactString(out); again != out {
				t.Fatalf("not idempotent:\n once %q\ntwice %q", out, again)
			}
		}
	})
}
