package config

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWriteRedactedPrintsDefaults(t *testing.T) {
	var b strings.Builder
	if err := Default().WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	want := `data_dir: ./rampart-data
database_url: ""
listen:
  https: :8443
  http: :8080
public_url: ""
tls:
  cert_file: ""
  key_file: ""
  acme:
    domains: []
    email: ""
    cache_dir: ""
    directory_url: ""
keys:
  provider: local
  root_key_file: ""
log:
  format: text
  level: info
audit:
  checkpoint_every: 1000
  checkpoint_interval: 5m
server:
  shutdown_timeout: 30s
  read_header_timeout: 10s
  idle_timeout: 2m
  max_header_bytes: 65536
sessions:
  idle_timeout: 30m
  lifetime: 12h
passwords:
  memory_kib: 19456
  iterations: 2
  parallelism: 1
  max_concurrent: 0
security:
  contact: mailto:security@localhost
mail:
  from: rampart@localhost
smtp:
  host: ""
  port: 587
  username: ""
  password: ""
  tls_mode: starttls
  ca_file: ""
files:
  max_size: 5GiB
  store: database
  s3:
    endpoint: ""
    bucket: ""
    region: ""
    access_key: ""
    secret_key: ""
    insecure: false
backup:
  schedule: daily@02:00
  recipients: []
  target: ""
  s3:
    endpoint: ""
    region: ""
    access_key: ""
    secret_key: ""
    insecure: false
  retention:
    min_age: 840h
    daily: 3
    weekly: 3
    monthly: 3
  alert_webhook: ""
oidc:
  access_token_ttl: 10m
  refresh_token_ttl: 720h
  signing_key_rotation: 720h
gateway:
  routes: []
kyc:
  matcher: "off"
  face_threshold: 0.58
  max_image_bytes: 10MiB
  max_image_pixels: 40000000
  faceservice_dir: ""
  node: ""
  remote_endpoint: ""
  remote_key: ""
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteRedactedNeverPrintsTheDatabasePassword(t *testing.T) {
	c := Default()
	c.DatabaseURL = "postgres://rampart:hunter2%2Fx@db.example.com:5432/rampart?sslmode=verify-full&sslpassword=hunter3"
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, secret := range []string{"hunter2", "hunter3"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains %q:\n%s", secret, out)
		}
	}
	want := "database_url: postgres://rampart:[REDACTED]@db.example.com:5432/rampart?sslmode=verify-full&sslpassword=[REDACTED]\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestWriteRedactedNeverPrintsTheSMTPPassword(t *testing.T) {
	c := Default()
	// A password that is also a valid URL path: redacting it as a URL
	// would leave it as it is.
	c.SMTP.Host = "smtp.example.com"
	c.SMTP.Username = "rampart"
	c.SMTP.Password = "hunter2-smtp"
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("output contains the SMTP password:\n%s", out)
	}
	if want := "  password: '[REDACTED]'\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	for _, s := range Settings() {
		if s.Path == "smtp.password" && (!s.Secret || s.Default != "") {
			t.Errorf("smtp.password: secret %v, default %q", s.Secret, s.Default)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://u:pw@h/db", "postgres://u:[REDACTED]@h/db"},
		{"postgresql://u@h:5432/db?sslmode=disable", "postgresql://u@h:5432/db?sslmode=disable"},
		{"postgres://h/db?password=pw&user=u", "postgres://h/db?password=[REDACTED]&user=u"},
		{"postgres://u:@h/db", "postgres://u:[REDACTED]@h/db"},
		{"sqlite:///srv/r.db", "sqlite:///srv/r.db"},
		{"sqlite:rel/r.db", "sqlite:rel/r.db"},
		// An unescaped "/", "?" or "#" in a password moves it out of the
		// user info; the whole value is withheld.
		{"postgres://u:12/34@h/db", Redacted},
		{"postgres://u:12?34@h/db", Redacted},
		{"postgres://u:12#34@h/db", Redacted},
		{"postgres://u:@00/@h/db", Redacted},
		{"postgres:u:pw@h/db", Redacted},
		{"postgres://u:pw@h:port/db", Redacted},
		{"not a url %zz", Redacted},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteRedactedLoadsBackTheSameConfig(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/rampart data"
	c.DatabaseURL = "sqlite:/srv/r.db"
	c.Listen.HTTP = "off"
	c.PublicURL = "https://id.example.com/base"
	c.TLS.ACME.Domains = []string{"a.example.com", "b.example.com"}
	c.TLS.ACME.Email = "ops@example.com"
	c.Log.Level = "debug"
	c.Audit.CheckpointInterval = 90 * time.Minute
	c.Server.IdleTimeout = 1500 * time.Millisecond
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	back, problems, err := layers{file: b.String()}.load(t)
	if err != nil {
		t.Fatalf("Load: %q\n%s", problems, b.String())
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("loaded back %+v\nwant %+v", back, c)
	}
}

// FuzzRedactURL checks that a password written into a database URL, escaped
// or not, never survives redaction or the validation message.
func FuzzRedactURL(f *testing.F) {
	for _, pw := range []string{"hunter2", "12/34", "a@b", "p?q", "x#y", "%41bc", "sp ace", "col:on", "@00/"} {
		f.Add(pw, false, false)
		f.Add(pw, true, true)
	}
	f.Fuzz(func(t *testing.T, pw string, escape, postgresql bool) {
		if len(pw) < 4 {
			return // short strings occur in the rest of the URL by chance
		}
		written, scheme := pw, "postgres"
		if escape {
			written = url.QueryEscape(pw)
		}
		if postgresql {
			scheme = "postgresql"
		}
		s := scheme + "://rampart:" + written + "@db.example.com:5432/rampart?sslmode=require"
		// Text that is in the output anyway: the rest of the URL and the
		// fixed wording of the messages.
		skeleton := scheme + "://rampart@db.example.com:5432/rampart?sslmode=require" + Redacted +
			checkDatabaseURL("mysql://h/db") + checkDatabaseURL("postgres://h:port/db")
		if strings.Contains(skeleton, pw) || strings.Contains(skeleton, written) {
			return
		}
		for what, out := range map[string]string{
			"redactURL":        redactURL(s),
			"checkDatabaseURL": checkDatabaseURL(s),
		} {
			if strings.Contains(out, pw) || strings.Contains(out, written) {
				t.Fatalf("%s(%q) = %q shows the password", what, s, out)
			}
		}
	})
}

func TestWriteRedactedNeverPrintsTheFilesS3SecretKey(t *testing.T) {
	c := Default()
	c.Files.Store = "s3"
	c.Files.S3.AccessKey = "AKIAFILES"
	c.Files.S3.SecretKey = "wJalrXUtnFEMI-files-secret"
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "wJalrXUtnFEMI") || !strings.Contains(out, "    secret_key: '[REDACTED]'\n") {
		t.Errorf("files.s3.secret_key is not redacted:\n%s", out)
	}
}

func TestWriteRedactedNeverPrintsBackupSecrets(t *testing.T) {
	c := Default()
	c.Backup.S3.SecretKey = "s3-secret-value-9f2"
	c.Backup.AlertWebhook = "https://hooks.example.com/services/T0/B0/webhook-token-77"
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3-secret-value-9f2", "webhook-token-77"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("output contains %q:\n%s", secret, b.String())
		}
	}
}
