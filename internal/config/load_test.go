package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/rampart-platform/rampart/internal/errs"
)

// layers describes one Load: an optional config file, an environment and
// command-line arguments.
type layers struct {
	file string            // YAML; "" means no --config
	env  map[string]string // the whole environment
	args []string          // command line, parsed by a FlagSet with every flag
}

// load runs Load on l. It returns the config, the problems (the error's lines
// after its header, with the temporary file's path replaced by $FILE) and the
// error itself.
func (l layers) load(t *testing.T) (Config, []string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.yaml")
	args := l.args
	if l.file != "" {
		if err := os.WriteFile(path, []byte(l.file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	fs := pflag.NewFlagSet("rampart", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	c, err := Load(Sources{Flags: fs, LookupEnv: lookupMap(l.env), Environ: environMap(l.env)})
	if err == nil {
		return c, nil, nil
	}
	msg := strings.ReplaceAll(errs.SafeMessage(err), path, "$FILE")
	if one, ok := strings.CutPrefix(msg, "invalid configuration: "); ok {
		return c, []string{one}, err // a single problem is one line
	}
	lines := strings.Split(msg, "\n")
	return c, lines[1:], err
}

func lookupMap(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func environMap(env map[string]string) func() []string {
	return func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
}

func TestLoadWithNothingSetGivesDefaults(t *testing.T) {
	c, problems, err := layers{}.load(t)
	if err != nil {
		t.Fatalf("Load: %v (%q)", err, problems)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load() = %+v, want Default() = %+v", c, Default())
	}
}

func TestDefaultsAreTheDocumentedOnes(t *testing.T) {
	var want Config
	want.DataDir = "./rampart-data"
	want.Listen.HTTPS = ":8443"
	want.Listen.HTTP = ":8080"
	want.TLS.ACME.Domains = []string{}
	want.Keys.Provider = "local"
	want.Log.Format = "text"
	want.Log.Level = "info"
	want.Audit.CheckpointEvery = 1000
	want.Audit.CheckpointInterval = 5 * time.Minute
	want.Server.ShutdownTimeout = 30 * time.Second
	want.Server.ReadHeaderTimeout = 10 * time.Second
	want.Server.IdleTimeout = 120 * time.Second
	want.Server.MaxHeaderBytes = 65536
	want.Mail.From = "rampart@localhost"
	want.SMTP.Port = 587
	want.SMTP.TLSMode = "starttls"
	want.Sessions.IdleTimeout = 30 * time.Minute
	want.Sessions.Lifetime = 12 * time.Hour
	want.Passwords.MemoryKiB = 19456
	want.Passwords.Iterations = 2
	want.Passwords.Parallelism = 1
	want.Security.Contact = "mailto:security@localhost"
	want.Files.MaxSize = 5 << 30
	want.Files.Store = "database"
	want.Backup.Schedule = "daily@02:00"
	want.Backup.Recipients = []string{}
	want.Backup.Retention.MinAge = 35 * 24 * time.Hour
	want.Backup.Retention.Daily = 3
	want.Backup.Retention.Weekly = 3
	want.Backup.Retention.Monthly = 3
	want.OIDC.AccessTokenTTL = 10 * time.Minute
	want.OIDC.RefreshTokenTTL = 30 * 24 * time.Hour
	want.OIDC.SigningKeyRotation = 30 * 24 * time.Hour
	want.Gateway.Routes = []string{}
	want.KYC.Matcher = "off"
	want.KYC.FaceThreshold = 0.58
	want.KYC.MaxImageBytes = 10 << 20
	want.KYC.MaxImagePixels = 40_000_000
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v\nwant %+v", got, want)
	}
}

func TestLaterLayersOverrideEarlierOnes(t *testing.T) {
	const file = "log:\n  level: debug\ntls:\n  acme:\n    domains: [a.example.com, b.example.com]\naudit:\n  checkpoint_interval: 1m\n"
	tests := []struct {
		name     string
		l        layers
		level    string
		domains  []string
		interval time.Duration
	}{
		{"the file overrides the defaults",
			layers{file: file},
			"debug", []string{"a.example.com", "b.example.com"}, time.Minute},
		{"the environment overrides the file",
			layers{file: file, env: map[string]string{"RAMPART_LOG_LEVEL": "warn", "RAMPART_TLS_ACME_DOMAINS": "c.example.com, d.example.com", "RAMPART_AUDIT_CHECKPOINT_INTERVAL": "2m"}},
			"warn", []string{"c.example.com", "d.example.com"}, 2 * time.Minute},
		{"flags override the environment",
			layers{file: file, env: map[string]string{"RAMPART_LOG_LEVEL": "warn", "RAMPART_TLS_ACME_DOMAINS": "c.example.com"}, args: []string{"--log-level", "error", "--acme-domain", "e.example.com", "--acme-domain=f.example.com", "--audit-checkpoint-interval=3m"}},
			"error", []string{"e.example.com", "f.example.com"}, 3 * time.Minute},
		{"flags override the file without the environment",
			layers{file: file, args: []string{"--log-level=warn"}},
			"warn", []string{"a.example.com", "b.example.com"}, time.Minute},
		{"an empty environment value empties a list",
			layers{file: file, env: map[string]string{"RAMPART_TLS_ACME_DOMAINS": ""}},
			"debug", []string{}, time.Minute},
		{"flags that are not given do not override",
			layers{env: map[string]string{"RAMPART_LOG_LEVEL": "warn"}, args: []string{"--log-format=json"}},
			"warn", []string{}, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems, err := tt.l.load(t)
			if err != nil {
				t.Fatalf("Load: %q", problems)
			}
			if c.Log.Level != tt.level || !slices.Equal(c.TLS.ACME.Domains, tt.domains) || c.Audit.CheckpointInterval != tt.interval {
				t.Errorf("got level %q, domains %q, interval %v; want %q, %q, %v",
					c.Log.Level, c.TLS.ACME.Domains, c.Audit.CheckpointInterval, tt.level, tt.domains, tt.interval)
			}
		})
	}
}

// testRecipient is an age X25519 recipient (public key) for the backup
// settings.
const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func TestEveryLayerSetsEverySetting(t *testing.T) {
	// The same values through each layer give the same Config.
	var want Config
	want.DataDir = "/var/lib/rampart"
	want.DatabaseURL = "postgres://rampart:pw@db:5432/rampart?sslmode=verify-full"
	want.PublicURL = "https://id.example.com"
	want.Listen.HTTPS = "0.0.0.0:443"
	want.Listen.HTTP = "off"
	want.TLS.ACME.Domains = []string{"id.example.com", "www.example.com"}
	want.TLS.ACME.Email = "ops@example.com"
	want.TLS.ACME.CacheDir = "/var/cache/acme"
	want.TLS.ACME.DirectoryURL = "https://acme-staging-v02.api.letsencrypt.org/directory"
	want.Keys.Provider = "local"
	want.Keys.RootKeyFile = "/etc/rampart/root.key"
	want.Log.Format = "json"
	want.Log.Level = "debug"
	want.Audit.CheckpointEvery = 10
	want.Audit.CheckpointInterval = time.Hour
	want.Server.ShutdownTimeout = time.Minute
	want.Server.ReadHeaderTimeout = 5 * time.Second
	want.Server.IdleTimeout = 90 * time.Second
	want.Server.MaxHeaderBytes = 8192
	want.Mail.From = "noreply@example.com"
	want.SMTP.Host = "smtp.example.com"
	want.SMTP.Port = 465
	want.SMTP.Username = "rampart"
	want.SMTP.Password = "smtp-pw"
	want.SMTP.TLSMode = "tls"
	want.SMTP.CAFile = "/etc/rampart/smtp-ca.pem"
	want.Sessions.IdleTimeout = 45 * time.Minute
	want.Sessions.Lifetime = 8 * time.Hour
	want.Passwords.MemoryKiB = 65536
	want.Passwords.Iterations = 3
	want.Passwords.Parallelism = 2
	want.Passwords.MaxConcurrent = 8
	want.Security.Contact = "https://example.com/security"
	want.Files.MaxSize = 512 << 20
	want.Files.Store = "s3"
	want.Files.S3.Endpoint = "127.0.0.1:9100"
	want.Files.S3.Bucket = "rampart-files"
	want.Files.S3.Region = "eu-west-1"
	want.Files.S3.AccessKey = "AKIAFILES"
	want.Files.S3.SecretKey = "files-s3-secret"
	want.Files.S3.Insecure = true
	want.Backup.Schedule = "hourly"
	want.Backup.Recipients = []string{testRecipient}
	want.Backup.Target = "s3://rampart-backups/prod"
	want.Backup.S3.Endpoint = "127.0.0.1:9000"
	want.Backup.S3.Region = "eu-central-1"
	want.Backup.S3.AccessKey = "AKIAEXAMPLE"
	want.Backup.S3.SecretKey = "s3-secret"
	want.Backup.S3.Insecure = true
	want.Backup.Retention.MinAge = 48 * time.Hour
	want.Backup.Retention.Daily = 7
	want.Backup.Retention.Weekly = 4
	want.Backup.Retention.Monthly = 12
	want.Backup.AlertWebhook = "https://hooks.example.com/T0/B0/xyz"
	want.OIDC.AccessTokenTTL = 5 * time.Minute
	want.OIDC.RefreshTokenTTL = 24 * time.Hour
	want.OIDC.SigningKeyRotation = 48 * time.Hour
	want.Gateway.Routes = []string{"/gw/kyc/ http://127.0.0.1:9000 scope=kyc.verify rate=5", "/gw/b/ unix:/run/b.sock"}
	want.KYC.Matcher = "remote"
	want.KYC.FaceThreshold = 0.7
	want.KYC.MaxImageBytes = 5 << 20
	want.KYC.MaxImagePixels = 20000000
	want.KYC.FaceServiceDir = "/opt/rampart/faceservice"
	want.KYC.Node = "/usr/bin/node"
	want.KYC.RemoteEndpoint = "https://face.example.com"
	want.KYC.RemoteKey = "face-key"

	file := `data_dir: /var/lib/rampart
database_url: postgres://rampart:pw@db:5432/rampart?sslmode=verify-full
public_url: https://id.example.com
listen: {https: "0.0.0.0:443", http: off}
tls:
  acme:
    domains:
      - id.example.com
      - www.example.com
    email: ops@example.com
    cache_dir: /var/cache/acme
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
keys: {provider: local, root_key_file: /etc/rampart/root.key}
log: {format: json, level: debug}
audit: {checkpoint_every: 10, checkpoint_interval: 1h}
server:
  shutdown_timeout: 1m
  read_header_timeout: 5s
  idle_timeout: 90s
  max_header_bytes: 8192
mail: {from: noreply@example.com}
smtp:
  host: smtp.example.com
  port: 465
  username: rampart
  password: smtp-pw
  tls_mode: tls
  ca_file: /etc/rampart/smtp-ca.pem
sessions: {idle_timeout: 45m, lifetime: 8h}
passwords: {memory_kib: 65536, iterations: 3, parallelism: 2, max_concurrent: 8}
security: {contact: "https://example.com/security"}
files:
  max_size: 512MiB
  store: s3
  s3: {endpoint: "127.0.0.1:9100", bucket: rampart-files, region: eu-west-1, access_key: AKIAFILES, secret_key: files-s3-secret, insecure: true}
backup:
  schedule: hourly
  recipients: [` + testRecipient + `]
  target: s3://rampart-backups/prod
  s3: {endpoint: "127.0.0.1:9000", region: eu-central-1, access_key: AKIAEXAMPLE, secret_key: s3-secret, insecure: true}
  retention: {min_age: 48h, daily: 7, weekly: 4, monthly: 12}
  alert_webhook: https://hooks.example.com/T0/B0/xyz
oidc: {access_token_ttl: 5m, refresh_token_ttl: 24h, signing_key_rotation: 48h}
gateway:
  routes: ["/gw/kyc/ http://127.0.0.1:9000 scope=kyc.verify rate=5", "/gw/b/ unix:/run/b.sock"]
kyc:
  matcher: remote
  face_threshold: 0.7
  max_image_bytes: 5MiB
  max_image_pixels: 20000000
  faceservice_dir: /opt/rampart/faceservice
  node: /usr/bin/node
  remote_endpoint: https://face.example.com
  remote_key: face-key
`
	// Mail and SMTP settings have no flags: they come from the file or the
	// environment in every case.
	smtpEnv := map[string]string{
		"RAMPART_MAIL_FROM":                 "noreply@example.com",
		"RAMPART_SMTP_HOST":                 "smtp.example.com",
		"RAMPART_SMTP_PORT":                 "465",
		"RAMPART_SMTP_USERNAME":             "rampart",
		"RAMPART_SMTP_PASSWORD":             "smtp-pw",
		"RAMPART_SMTP_TLS_MODE":             "tls",
		"RAMPART_SMTP_CA_FILE":              "/etc/rampart/smtp-ca.pem",
		"RAMPART_SESSIONS_IDLE_TIMEOUT":     "45m",
		"RAMPART_SESSIONS_LIFETIME":         "8h",
		"RAMPART_PASSWORDS_MEMORY_KIB":      "65536",
		"RAMPART_PASSWORDS_ITERATIONS":      "3",
		"RAMPART_PASSWORDS_PARALLELISM":     "2",
		"RAMPART_PASSWORDS_MAX_CONCURRENT":  "8",
		"RAMPART_SECURITY_CONTACT":          "https://example.com/security",
		"RAMPART_FILES_MAX_SIZE":            "536870912",
		"RAMPART_FILES_STORE":               "s3",
		"RAMPART_FILES_S3_ENDPOINT":         "127.0.0.1:9100",
		"RAMPART_FILES_S3_BUCKET":           "rampart-files",
		"RAMPART_FILES_S3_REGION":           "eu-west-1",
		"RAMPART_FILES_S3_ACCESS_KEY":       "AKIAFILES",
		"RAMPART_FILES_S3_SECRET_KEY":       "files-s3-secret",
		"RAMPART_FILES_S3_INSECURE":         "true",
		"RAMPART_BACKUP_SCHEDULE":           "hourly",
		"RAMPART_BACKUP_RECIPIENTS":         testRecipient,
		"RAMPART_BACKUP_TARGET":             "s3://rampart-backups/prod",
		"RAMPART_BACKUP_S3_ENDPOINT":        "127.0.0.1:9000",
		"RAMPART_BACKUP_S3_REGION":          "eu-central-1",
		"RAMPART_BACKUP_S3_ACCESS_KEY":      "AKIAEXAMPLE",
		"RAMPART_BACKUP_S3_SECRET_KEY":      "s3-secret",
		"RAMPART_BACKUP_S3_INSECURE":        "true",
		"RAMPART_BACKUP_RETENTION_MIN_AGE":  "48h",
		"RAMPART_BACKUP_RETENTION_DAILY":    "7",
		"RAMPART_BACKUP_RETENTION_WEEKLY":   "4",
		"RAMPART_BACKUP_RETENTION_MONTHLY":  "12",
		"RAMPART_BACKUP_ALERT_WEBHOOK":      "https://hooks.example.com/T0/B0/xyz",
		"RAMPART_OIDC_ACCESS_TOKEN_TTL":     "5m",
		"RAMPART_OIDC_REFRESH_TOKEN_TTL":    "24h",
		"RAMPART_OIDC_SIGNING_KEY_ROTATION": "48h",
		"RAMPART_GATEWAY_ROUTES":            "/gw/kyc/ http://127.0.0.1:9000 scope=kyc.verify rate=5,/gw/b/ unix:/run/b.sock",
		"RAMPART_KYC_MATCHER":               "remote",
		"RAMPART_KYC_FACE_THRESHOLD":        "0.7",
		"RAMPART_KYC_MAX_IMAGE_BYTES":       "5MiB",
		"RAMPART_KYC_MAX_IMAGE_PIXELS":      "20000000",
		"RAMPART_KYC_FACESERVICE_DIR":       "/opt/rampart/faceservice",
		"RAMPART_KYC_NODE":                  "/usr/bin/node",
		"RAMPART_KYC_REMOTE_ENDPOINT":       "https://face.example.com",
		"RAMPART_KYC_REMOTE_KEY":            "face-key",
	}
	env := map[string]string{
		"RAMPART_DATA_DIR":                  "/var/lib/rampart",
		"RAMPART_DATABASE_URL":              "postgres://rampart:pw@db:5432/rampart?sslmode=verify-full",
		"RAMPART_PUBLIC_URL":                "https://id.example.com",
		"RAMPART_LISTEN_HTTPS":              "0.0.0.0:443",
		"RAMPART_LISTEN_HTTP":               "off",
		"RAMPART_TLS_ACME_DOMAINS":          "id.example.com,www.example.com",
		"RAMPART_TLS_ACME_EMAIL":            "ops@example.com",
		"RAMPART_TLS_ACME_CACHE_DIR":        "/var/cache/acme",
		"RAMPART_TLS_ACME_DIRECTORY_URL":    "https://acme-staging-v02.api.letsencrypt.org/directory",
		"RAMPART_KEYS_PROVIDER":             "local",
		"RAMPART_KEYS_ROOT_KEY_FILE":        "/etc/rampart/root.key",
		"RAMPART_LOG_FORMAT":                "json",
		"RAMPART_LOG_LEVEL":                 "debug",
		"RAMPART_AUDIT_CHECKPOINT_EVERY":    "10",
		"RAMPART_AUDIT_CHECKPOINT_INTERVAL": "1h",
		"RAMPART_SHUTDOWN_TIMEOUT":          "1m",
		"RAMPART_READ_HEADER_TIMEOUT":       "5s",
		"RAMPART_IDLE_TIMEOUT":              "90s",
		"RAMPART_MAX_HEADER_BYTES":          "8192",
	}
	args := []string{
		"--data-dir=/var/lib/rampart",
		"--database-url=postgres://rampart:pw@db:5432/rampart?sslmode=verify-full",
		"--public-url=https://id.example.com",
		"--listen-https=0.0.0.0:443", "--listen-http=off",
		"--acme-domain=id.example.com", "--acme-domain=www.example.com",
		"--acme-email=ops@example.com", "--acme-cache-dir=/var/cache/acme",
		"--acme-directory-url=https://acme-staging-v02.api.letsencrypt.org/directory",
		"--keys-provider=local", "--root-key-file=/etc/rampart/root.key",
		"--log-format=json", "--log-level=debug",
		"--audit-checkpoint-every=10", "--audit-checkpoint-interval=1h",
		"--shutdown-timeout=1m",
	}
	// Settings without a flag come from the environment in the flag case.
	flagEnv := map[string]string{
		"RAMPART_READ_HEADER_TIMEOUT": "5s", "RAMPART_IDLE_TIMEOUT": "90s", "RAMPART_MAX_HEADER_BYTES": "8192",
	}
	maps.Copy(env, smtpEnv)
	maps.Copy(flagEnv, smtpEnv)
	for name, l := range map[string]layers{
		"file":        {file: file},
		"environment": {env: env},
		"flags":       {args: args, env: flagEnv},
	} {
		t.Run(name, func(t *testing.T) {
			c, problems, err := l.load(t)
			if err != nil {
				t.Fatalf("Load: %q", problems)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestLoadReportsProblemsExactly(t *testing.T) {
	tests := []struct {
		name string
		l    layers
		want []string
	}{
		{"an unknown key in the file, with its line",
			layers{file: "data_dir: /d\nlisten:\n  https: \":1\"\n  htps: x\n"},
			[]string{`config file $FILE: line 4: unknown setting "listen.htps"`}},
		{"an unknown top-level section is not descended into",
			layers{file: "# comment\nlistn:\n  https: x\n"},
			[]string{`config file $FILE: line 2: unknown setting "listn"`}},
		{"a mapping where a value belongs",
			layers{file: "listen:\n  https:\n    port: 1\n"},
			[]string{`config file $FILE: line 2: listen.https (RAMPART_LISTEN_HTTPS, --listen-https): expected a single value, found a mapping`}},
		{"a list where a single value belongs",
			layers{file: "log:\n  level: [debug]\n"},
			[]string{`config file $FILE: line 2: log.level (RAMPART_LOG_LEVEL, --log-level): expected a single value, found a list`}},
		{"a mapping inside a list",
			layers{file: "tls:\n  acme:\n    domains:\n      - {a: b}\n"},
			[]string{`config file $FILE: line 3: tls.acme.domains (RAMPART_TLS_ACME_DOMAINS, --acme-domain): list items must be single values, found a mapping`}},
		{"a value where a section belongs",
			layers{file: "listen: 8080\n"},
			[]string{`config file $FILE: line 1: "listen" is a group of settings (listen.https, listen.http), not a value; found the value "8080"`}},
		{"a bad value in the file names its line",
			layers{file: "\nlisten:\n  https: abc\n"},
			[]string{`config file $FILE: line 3: listen.https (RAMPART_LISTEN_HTTPS, --listen-https): "abc" is not a host:port address`}},
		{"a key set twice",
			layers{file: "log:\n  level: debug\n  level: info\n"},
			[]string{`config file $FILE: line 3: "log.level" is set twice (first on line 2)`}},
		{"a YAML syntax error",
			layers{file: "log:\n  level: debug\n bad\n"},
			[]string{`config file $FILE: line 2: did not find expected key`}},
		{"a file that is not a mapping",
			layers{file: "- data_dir\n"},
			[]string{`config file $FILE: line 1: the file must be a mapping of settings, found a list`}},
		{"two YAML documents",
			layers{file: "log: {level: debug}\n---\nlog: {level: info}\n"},
			[]string{`config file $FILE: line 2: only one YAML document is allowed`}},
		{"an empty value for a number",
			layers{file: "audit:\n  checkpoint_every:\n"},
			[]string{`config file $FILE: line 2: audit.checkpoint_every (RAMPART_AUDIT_CHECKPOINT_EVERY, --audit-checkpoint-every): "" is not an integer`}},
		{"a file that cannot be read names --config",
			layers{args: []string{"--config", "/nonexistent/r.yaml"}},
			[]string{`config file /nonexistent/r.yaml (--config): cannot be read: no such file or directory`}},
		{"a file named by RAMPART_CONFIG that cannot be read names it",
			layers{env: map[string]string{"RAMPART_CONFIG": "/nonexistent/r.yaml"}},
			[]string{`config file /nonexistent/r.yaml (RAMPART_CONFIG): cannot be read: no such file or directory`}},
		{"a duration without a unit",
			layers{env: map[string]string{"RAMPART_SHUTDOWN_TIMEOUT": "30"}},
			[]string{`server.shutdown_timeout (RAMPART_SHUTDOWN_TIMEOUT, --shutdown-timeout): "30" is not a duration (write it with a unit, like 30s, 5m or 1h30m)`}},
		{"a duration of zero",
			layers{env: map[string]string{"RAMPART_IDLE_TIMEOUT": "0s"}},
			[]string{`server.idle_timeout (RAMPART_IDLE_TIMEOUT): "0s" is not greater than 0`}},
		{"a duration below its minimum",
			layers{args: []string{"--audit-checkpoint-interval=500ms"}},
			[]string{`audit.checkpoint_interval (RAMPART_AUDIT_CHECKPOINT_INTERVAL, --audit-checkpoint-interval): "500ms" is below the minimum of 1s`}},
		{"a number that is not one",
			layers{args: []string{"--audit-checkpoint-every=many"}},
			[]string{`audit.checkpoint_every (RAMPART_AUDIT_CHECKPOINT_EVERY, --audit-checkpoint-every): "many" is not an integer`}},
		{"a number below its minimum",
			layers{env: map[string]string{"RAMPART_MAX_HEADER_BYTES": "1024"}},
			[]string{`server.max_header_bytes (RAMPART_MAX_HEADER_BYTES): "1024" is below the minimum of 4096`}},
		{"an enum value lists the allowed ones",
			layers{args: []string{"--log-format=xml"}},
			[]string{`log.format (RAMPART_LOG_FORMAT, --log-format): "xml" is not one of: text, json`}},
		{"the only key provider is local",
			layers{env: map[string]string{"RAMPART_KEYS_PROVIDER": "kms"}},
			[]string{`keys.provider (RAMPART_KEYS_PROVIDER, --keys-provider): "kms" is not one of: local`}},
		{"a port out of range",
			layers{args: []string{"--listen-https=:65536"}},
			[]string{`listen.https (RAMPART_LISTEN_HTTPS, --listen-https): ":65536" is not a host:port address (the port must be a number from 0 to 65535)`}},
		{"a bad host",
			layers{args: []string{"--listen-https=exa mple:443"}},
			[]string{`listen.https (RAMPART_LISTEN_HTTPS, --listen-https): "exa mple:443" is not a host:port address ("exa mple" is neither a hostname nor an IP address)`}},
		{"a redirect address that is neither an address nor off",
			layers{env: map[string]string{"RAMPART_LISTEN_HTTP": "no"}},
			[]string{`listen.http (RAMPART_LISTEN_HTTP, --listen-http): "no" is not a host:port address or "off"`}},
		{"both listeners on one address",
			layers{args: []string{"--listen-http=:8443"}},
			[]string{`listen.http (RAMPART_LISTEN_HTTP, --listen-http): ":8443" is the same address as listen.https`}},
		{"an empty data directory",
			layers{env: map[string]string{"RAMPART_DATA_DIR": ""}},
			[]string{`data_dir (RAMPART_DATA_DIR, --data-dir): must not be empty`}},
		{"a public URL that is not https",
			layers{args: []string{"--public-url=http://id.example.com"}},
			[]string{`public_url (RAMPART_PUBLIC_URL, --public-url): "http://id.example.com" is not an absolute https URL (the scheme must be https)`}},
		{"a public URL with a query",
			layers{args: []string{"--public-url=https://id.example.com/?a=b"}},
			[]string{`public_url (RAMPART_PUBLIC_URL, --public-url): "https://id.example.com/?a=b" is not an absolute https URL (a query or fragment is not allowed)`}},
		{"a database URL of an unsupported kind is shown redacted",
			layers{env: map[string]string{"RAMPART_DATABASE_URL": "mysql://root:hunter2@db/rampart"}},
			[]string{`database_url (RAMPART_DATABASE_URL, --database-url): "mysql://root:[REDACTED]@db/rampart" is not a supported database URL (use sqlite:PATH, postgres://... or postgresql://...)`}},
		{"a PostgreSQL URL that does not parse is not shown",
			layers{env: map[string]string{"RAMPART_DATABASE_URL": "postgres://root:hunter2@db:port/rampart"}},
			[]string{`database_url (RAMPART_DATABASE_URL, --database-url): the value is not a valid PostgreSQL URL (the value is not shown because it may contain a password)`}},
		{"a SQLite URL without a path",
			layers{env: map[string]string{"RAMPART_DATABASE_URL": "sqlite://"}},
			[]string{`database_url (RAMPART_DATABASE_URL, --database-url): "sqlite://" has no file path (write sqlite:PATH or sqlite:///ABSOLUTE/PATH)`}},
		{"a certificate without a key",
			layers{args: []string{"--tls-cert=/etc/rampart/cert.pem"}},
			[]string{`tls.key_file (RAMPART_TLS_KEY_FILE, --tls-key): must be set when tls.cert_file is set`}},
		{"a key without a certificate",
			layers{env: map[string]string{"RAMPART_TLS_KEY_FILE": "/etc/rampart/key.pem"}},
			[]string{`tls.cert_file (RAMPART_TLS_CERT_FILE, --tls-cert): must be set when tls.key_file is set`}},
		{"ACME and certificate files together",
			layers{args: []string{"--tls-cert=c.pem", "--tls-key=k.pem", "--acme-domain=id.example.com"}},
			[]string{`tls.acme.domains (RAMPART_TLS_ACME_DOMAINS, --acme-domain): cannot be combined with tls.cert_file and tls.key_file; use ACME or certificate files, not both`}},
		{"ACME domains that no CA issues for, and a repeat",
			layers{env: map[string]string{"RAMPART_TLS_ACME_DOMAINS": "localhost,*.example.com,a.example.com,a.example.com"}},
			[]string{`tls.acme.domains (RAMPART_TLS_ACME_DOMAINS, --acme-domain): "localhost" is not a fully qualified hostname (like app.example.com; no wildcards or IP addresses); "*.example.com" is not a fully qualified hostname (like app.example.com; no wildcards or IP addresses); "a.example.com" is listed twice`}},
		{"an ACME email that is not one",
			layers{args: []string{"--acme-email=Ops <ops@example.com>"}},
			[]string{`tls.acme.email (RAMPART_TLS_ACME_EMAIL, --acme-email): "Ops <ops@example.com>" is not an email address (like ops@example.com)`}},
		{"an SMTP host with a port",
			layers{env: map[string]string{"RAMPART_SMTP_HOST": "smtp.example.com:587"}},
			[]string{`smtp.host (RAMPART_SMTP_HOST): "smtp.example.com:587" is not a hostname or IP address (give the port in smtp.port)`}},
		{"an SMTP port out of range",
			layers{file: "smtp:\n  port: 70000\n"},
			[]string{`config file $FILE: line 2: smtp.port (RAMPART_SMTP_PORT): "70000" is above the maximum of 65535`}},
		{"a backup schedule in another format",
			layers{env: map[string]string{"RAMPART_BACKUP_SCHEDULE": "0 2 * * *"}},
			[]string{`backup.schedule (RAMPART_BACKUP_SCHEDULE): "0 2 * * *" is not off, hourly or daily@HH:MM (like daily@02:00)`}},
		{"a backup recipient that is not an age public key",
			layers{env: map[string]string{"RAMPART_BACKUP_RECIPIENTS": "ssh-ed25519 AAAA"}},
			[]string{"backup.recipients (RAMPART_BACKUP_RECIPIENTS): \"ssh-ed25519 AAAA\" is not an age X25519 recipient (age1...; `rampart backup keygen` makes one)"}},
		{"a backup target URL of another scheme",
			layers{env: map[string]string{"RAMPART_BACKUP_TARGET": "ftp://backups.example.com/x"}},
			[]string{`backup.target (RAMPART_BACKUP_TARGET): "ftp://backups.example.com/x" is neither a directory nor an s3://bucket/prefix URL`}},
		{"a plain-HTTP alert webhook to another host, never quoted",
			layers{env: map[string]string{"RAMPART_BACKUP_ALERT_WEBHOOK": "http://hooks.example.com/secret-token"}},
			[]string{`backup.alert_webhook (RAMPART_BACKUP_ALERT_WEBHOOK): the URL must be https (http only to a loopback host); the value is not shown: it may hold a token`}},
		{"a gateway upstream that is not on this machine",
			layers{env: map[string]string{"RAMPART_GATEWAY_ROUTES": "/gw/x/ http://10.0.0.5:80"}},
			[]string{`gateway.routes (RAMPART_GATEWAY_ROUTES): "/gw/x/ http://10.0.0.5:80": the upstream "10.0.0.5" is not a loopback address; internal services are reached on 127.0.0.1, ::1 or a unix socket only`}},
		{"a gateway route with an unknown option",
			layers{env: map[string]string{"RAMPART_GATEWAY_ROUTES": "/gw/x/ unix:/run/x.sock scopes=a"}},
			[]string{`gateway.routes (RAMPART_GATEWAY_ROUTES): "/gw/x/ unix:/run/x.sock scopes=a": unknown option "scopes=a" (use scope=, rate=, inject=)`}},
		{"an SMTP TLS mode that does not exist",
			layers{env: map[string]string{"RAMPART_SMTP_TLS_MODE": "ssl"}},
			[]string{`smtp.tls_mode (RAMPART_SMTP_TLS_MODE): "ssl" is not one of: starttls, tls, none`}},
		{"a From address with a display name",
			layers{env: map[string]string{"RAMPART_MAIL_FROM": "Rampart <rampart@example.com>"}},
			[]string{`mail.from (RAMPART_MAIL_FROM): "Rampart <rampart@example.com>" is not an email address (like ops@example.com)`}},
		{"an unknown RAMPART_ variable",
			layers{env: map[string]string{"RAMPART_LISTEN_HTPS": ":1", "HOME": "/root"}},
			[]string{`RAMPART_LISTEN_HTPS: unknown setting`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems, err := tt.l.load(t)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
			if !slices.Equal(problems, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadAcceptsAllowedNonSettingVariables(t *testing.T) {
	env := map[string]string{
		"RAMPART_CONFIG":              "",
		"RAMPART_TEST_POSTGRES_DSN":   "postgres://x",
		"RAMPART_BOOTSTRAP_ADMIN":     "admin@example.com",
		"RAMPART_LOG_LEVEL":           "debug",
		"NOT_RAMPART_LISTEN_HTPS":     "x",
		"rampart_lowercase_is_not_us": "x",
	}
	if _, problems, err := (layers{env: env}).load(t); err != nil {
		t.Fatalf("Load: %q", problems)
	}
}

func TestLoadAcceptsValuesInTheirOtherForms(t *testing.T) {
	tests := []struct {
		name string
		l    layers
		ok   func(Config) bool
	}{
		{"a YAML null section is empty", layers{file: "listen:\ntls:\n  acme:\n"},
			func(c Config) bool { return c.Listen.HTTPS == ":8443" }},
		{"an empty file sets nothing", layers{file: "# nothing here\n"},
			func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"a YAML boolean-looking word is read as written", layers{file: "listen: {http: off}\n"},
			func(c Config) bool { return c.Listen.HTTP == "off" }},
		{"a single YAML value for a list", layers{file: "tls: {acme: {domains: a.example.com}}\n"},
			func(c Config) bool { return slices.Equal(c.TLS.ACME.Domains, []string{"a.example.com"}) }},
		{"a YAML alias of a value", layers{file: "data_dir: &d /srv/rampart\ntls: {acme: {cache_dir: *d}}\n"},
			func(c Config) bool { return c.TLS.ACME.CacheDir == "/srv/rampart" }},
		{"an IPv6 listener and port 0", layers{args: []string{"--listen-https=[::1]:0", "--listen-http=[::1]:0"}},
			func(c Config) bool { return c.Listen.HTTPS == "[::1]:0" }},
		{"sqlite URLs", layers{env: map[string]string{"RAMPART_DATABASE_URL": "sqlite:///srv/r.db"}},
			func(c Config) bool { return c.SQLitePath() == "/srv/r.db" }},
		{"the config file named by RAMPART_CONFIG", layers{env: map[string]string{"RAMPART_CONFIG": "testdata/minimal.yaml"}},
			func(c Config) bool { return c.Log.Level == "warn" }},
		{"--config given as empty means no file", layers{args: []string{"--config="}, env: map[string]string{"RAMPART_CONFIG": "/nonexistent"}},
			func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems, err := tt.l.load(t)
			if err != nil {
				t.Fatalf("Load: %q", problems)
			}
			if !tt.ok(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadReportsEveryProblemInAStableOrder(t *testing.T) {
	l := layers{
		file: "log:\n  level: loud\n  colour: red\naudit:\n  checkpoint_every: 0\n",
		env: map[string]string{
			"RAMPART_SHUTDOWN_TIMEOUT": "soon",
			"RAMPART_ZZZ":              "1",
			"RAMPART_LISTEN_HTPS":      ":1",
			"RAMPART_AAA":              "1",
			"RAMPART_LOG_FORMAT":       "xml",
		},
		args: []string{"--listen-https=abc", "--tls-cert=c.pem"},
	}
	want := `invalid configuration (10 problems):
config file $FILE: line 2: log.level (RAMPART_LOG_LEVEL, --log-level): "loud" is not one of: debug, info, warn, error
config file $FILE: line 3: unknown setting "log.colour"
config file $FILE: line 5: audit.checkpoint_every (RAMPART_AUDIT_CHECKPOINT_EVERY, --audit-checkpoint-every): "0" is below the minimum of 1
log.format (RAMPART_LOG_FORMAT, --log-format): "xml" is not one of: text, json
server.shutdown_timeout (RAMPART_SHUTDOWN_TIMEOUT, --shutdown-timeout): "soon" is not a duration (write it with a unit, like 30s, 5m or 1h30m)
RAMPART_AAA: unknown setting
RAMPART_LISTEN_HTPS: unknown setting
RAMPART_ZZZ: unknown setting
listen.https (RAMPART_LISTEN_HTTPS, --listen-https): "abc" is not a host:port address
tls.key_file (RAMPART_TLS_KEY_FILE, --tls-key): must be set when tls.cert_file is set`
	// Go randomises map order, so Environ lists the variables in a new order
	// each time; the report must not change.
	for range 5 {
		_, problems, err := l.load(t)
		if err == nil {
			t.Fatal("Load succeeded, want an error")
		}
		header, _, _ := strings.Cut(errs.SafeMessage(err), "\n")
		if got := header + "\n" + strings.Join(problems, "\n"); got != want {
			t.Fatalf("got:\n%s\nwant:\n%s", got, want)
		}
	}
}

func TestLoadErrorIsInvalidAndNamesTheOperation(t *testing.T) {
	_, err := Load(Sources{LookupEnv: lookupMap(nil), Environ: environMap(map[string]string{"RAMPART_X": ""})})
	want := "config.Load: invalid configuration: RAMPART_X: unknown setting"
	if err == nil || err.Error() != want || errs.KindOf(err) != errs.Invalid {
		t.Errorf("err = %v (kind %v), want %q (invalid)", err, errs.KindOf(err), want)
	}
}

func TestLoadWithOnlyEnvironSourcesLookupsFromIt(t *testing.T) {
	c, err := Load(Sources{Environ: func() []string { return []string{"RAMPART_LOG_LEVEL=warn", "RAMPART_LOG_LEVEL=error"} }})
	if err != nil || c.Log.Level != "warn" {
		t.Errorf("Load = %q, %v; want level warn (the first entry wins, as in os.Getenv)", c.Log.Level, err)
	}
}

func TestLoadCreatesNothingOnDisk(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(file, []byte("data_dir: ./sub/data\ntls: {acme: {domains: [a.example.com]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("rampart", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--config", file}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Sources{Flags: fs, LookupEnv: lookupMap(nil), Environ: environMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := c.WriteRedacted(&buf); err != nil {
		t.Fatal(err)
	}
	_ = []string{c.SQLitePath(), c.RootKeyPath(), c.ACMECacheDir(), c.EffectivePublicURL()}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("Load created %v in the working directory", entries)
	}
}

func TestLoadRefusesAnOversizedFile(t *testing.T) {
	big := "# " + strings.Repeat("x", maxFileSize) + "\n"
	_, problems, err := layers{file: big}.load(t)
	want := []string{`config file $FILE (--config): cannot be read: larger than the limit of 1048576 bytes`}
	if err == nil || !slices.Equal(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
}

func TestLoadDoesNotFollowAliasesOfCollections(t *testing.T) {
	// An anchor that contains its own alias makes a cyclic node graph; Load
	// must refuse it rather than walk it forever.
	_, problems, err := layers{file: "tls:\n  acme:\n    domains: &d [a.example.com, *d]\n"}.load(t)
	want := []string{`config file $FILE: line 3: tls.acme.domains (RAMPART_TLS_ACME_DOMAINS, --acme-domain): list items must be single values, found an alias of a mapping or list`}
	if err == nil || !slices.Equal(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
}

func FuzzLoadYAML(f *testing.F) {
	seeds := []string{
		"",
		"data_dir: /d\nlisten:\n  https: \":1\"\n  htps: x\n",
		"tls:\n  acme:\n    domains: &d [a.example.com, *d]\n",
		"a: &a [*a]\nlisten: *a\n",
		"log: {level: debug}\n---\nlog: {level: info}\n",
		"? [a, b]\n: c\n",
		"listen: !!binary aGVsbG8=\n",
		"database_url: postgres://u:p@h/db\nserver: {max_header_bytes: 99999999999999999999}\n",
		"\xff\xfe",
		"- - - -\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "r.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("rampart", pflag.ContinueOnError)
		RegisterFlags(fs)
		if err := fs.Parse([]string{"--config", path}); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Sources{Flags: fs, LookupEnv: lookupMap(nil), Environ: environMap(nil)})
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		// Whatever loads must print and load back the same (a redacted
		// secret is left out: it would not load back to itself).
		if redactURL(c.DatabaseURL) != c.DatabaseURL {
			c.DatabaseURL = ""
		}
		c.SMTP.Password = ""
		var buf strings.Builder
		if err := c.WriteRedacted(&buf); err != nil {
			t.Fatal(err)
		}
		back, problems, err := layers{file: buf.String()}.load(t)
		if err != nil {
			t.Fatalf("printed config does not load: %q\n%s", problems, buf.String())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("printed config loads as %+v, want %+v", back, c)
		}
	})
}

func TestLoadCapsAHugeReport(t *testing.T) {
	var b strings.Builder
	for i := range maxProblems + 5 {
		fmt.Fprintf(&b, "k%d: v\n", i)
	}
	_, problems, err := layers{file: b.String()}.load(t)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	header, _, _ := strings.Cut(errs.SafeMessage(err), "\n")
	if header != "invalid configuration (105 problems):" || len(problems) != maxProblems+1 ||
		problems[maxProblems] != "... and 5 more not shown" {
		t.Errorf("header %q, %d lines, last %q", header, len(problems), problems[len(problems)-1])
	}
}
