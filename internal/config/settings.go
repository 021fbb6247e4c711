package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
)

// Group selects which settings a sub-command offers as flags.
type Group uint8

// The flag groups. Commands that only touch data (migrate, keys, audit,
// admin) register GroupData; serve registers both.
const (
	GroupData   Group = iota + 1 // data_dir, database_url, keys.*, log.*
	GroupServer                  // listeners, public URL, TLS, audit, server tuning
)

// SettingInfo describes one setting for documentation.
type SettingInfo struct {
	Path    string // YAML path, dotted: "listen.https"
	Env     string // environment variable: "RAMPART_LISTEN_HTTPS"
	Flag    string // flag name without dashes ("listen-https"); "" when there is no flag
	Type    string // what the value looks like: "host:port", "duration", "text|json", ...
	Default string // the default as it would be written in the file; "" for none
	Usage   string // one-line description
	Secret  bool   // never printed in clear
}

// setting is one row of the table: how a setting is named in each layer and
// the value that parses raw strings into its field of a Config.
type setting struct {
	path   string
	env    string
	flag   string // "" when the setting has no flag
	usage  string
	secret bool
	group  Group
	val    value
}

// label names the setting in every layer, the prefix of its error messages:
// `listen.https (RAMPART_LISTEN_HTTPS, --listen-https)`.
func (s *setting) label() string {
	if s.flag == "" {
		return s.path + " (" + s.env + ")"
	}
	return s.path + " (" + s.env + ", --" + s.flag + ")"
}

// table returns the settings bound to the fields of c, in the order they are
// documented, printed and validated. It is built per call, so there is no
// shared mutable state; Settings() and the tests rely on it covering every
// field of Config.
func table(c *Config) []setting {
	return []setting{
		{path: "data_dir", env: "RAMPART_DATA_DIR", flag: "data-dir", group: GroupData,
			usage: "directory for the SQLite database, root key and ACME cache",
			val:   &stringValue{p: &c.DataDir, typ: "path", check: nonEmpty}},
		{path: "database_url", env: "RAMPART_DATABASE_URL", flag: "database-url", group: GroupData, secret: true,
			usage: "database: sqlite:PATH, or a postgres:// or postgresql:// URL; empty means SQLite in <data_dir>/rampart.db",
			val:   &stringValue{p: &c.DatabaseURL, typ: "url", check: checkDatabaseURL}},
		{path: "listen.https", env: "RAMPART_LISTEN_HTTPS", flag: "listen-https", group: GroupServer,
			usage: "host:port of the HTTPS listener (port 0 picks a free port)",
			val:   &stringValue{p: &c.Listen.HTTPS, typ: "host:port", check: checkListenAddr}},
		{path: "listen.http", env: "RAMPART_LISTEN_HTTP", flag: "listen-http", group: GroupServer,
			usage: `host:port of the HTTP listener that redirects to HTTPS, or "off"`,
			val:   &stringValue{p: &c.Listen.HTTP, typ: "host:port|off", check: checkRedirectAddr}},
		{path: "public_url", env: "RAMPART_PUBLIC_URL", flag: "public-url", group: GroupServer,
			usage: "absolute https URL clients use; empty means https://localhost:<listen.https port>",
			val:   &stringValue{p: &c.PublicURL, typ: "url", check: optional(checkHTTPSURL)}},
		{path: "tls.cert_file", env: "RAMPART_TLS_CERT_FILE", flag: "tls-cert", group: GroupServer,
			usage: "PEM certificate chain file; set together with tls.key_file",
			val:   &stringValue{p: &c.TLS.CertFile, typ: "path"}},
		{path: "tls.key_file", env: "RAMPART_TLS_KEY_FILE", flag: "tls-key", group: GroupServer,
			usage: "PEM private key file for tls.cert_file",
			val:   &stringValue{p: &c.TLS.KeyFile, typ: "path"}},
		{path: "tls.acme.domains", env: "RAMPART_TLS_ACME_DOMAINS", flag: "acme-domain", group: GroupServer,
			usage: "hostnames to get ACME certificates for (comma-separated; the flag repeats); excludes certificate files",
			val:   &listValue{p: &c.TLS.ACME.Domains, typ: "hostname", check: checkACMEDomain}},
		{path: "tls.acme.email", env: "RAMPART_TLS_ACME_EMAIL", flag: "acme-email", group: GroupServer,
			usage: "contact email given to the ACME CA",
			val:   &stringValue{p: &c.TLS.ACME.Email, typ: "email", check: optional(checkEmail)}},
		{path: "tls.acme.cache_dir", env: "RAMPART_TLS_ACME_CACHE_DIR", flag: "acme-cache-dir", group: GroupServer,
			usage: "directory for the ACME account and certificates; empty means <data_dir>/acme",
			val:   &stringValue{p: &c.TLS.ACME.CacheDir, typ: "path"}},
		{path: "tls.acme.directory_url", env: "RAMPART_TLS_ACME_DIRECTORY_URL", flag: "acme-directory-url", group: GroupServer,
			usage: "https URL of the ACME directory; empty means the default CA",
			val:   &stringValue{p: &c.TLS.ACME.DirectoryURL, typ: "url", check: optional(checkHTTPSURL)}},
		{path: "keys.provider", env: "RAMPART_KEYS_PROVIDER", flag: "keys-provider", group: GroupData,
			usage: "where the root key is kept: local (a file)",
			val:   &stringValue{p: &c.Keys.Provider, typ: "local", check: oneOf("local")}},
		{path: "keys.root_key_file", env: "RAMPART_KEYS_ROOT_KEY_FILE", flag: "root-key-file", group: GroupData,
			usage: "root key file of the local provider; empty means <data_dir>/root.key",
			val:   &stringValue{p: &c.Keys.RootKeyFile, typ: "path"}},
		{path: "log.format", env: "RAMPART_LOG_FORMAT", flag: "log-format", group: GroupData,
			usage: "log format: text or json",
			val:   &stringValue{p: &c.Log.Format, typ: "text|json", check: oneOf("text", "json")}},
		{path: "log.level", env: "RAMPART_LOG_LEVEL", flag: "log-level", group: GroupData,
			usage: "lowest level logged: debug, info, warn or error",
			val:   &stringValue{p: &c.Log.Level, typ: "debug|info|warn|error", check: oneOf("debug", "info", "warn", "error")}},
		{path: "audit.checkpoint_every", env: "RAMPART_AUDIT_CHECKPOINT_EVERY", flag: "audit-checkpoint-every", group: GroupServer,
			usage: "sign an audit checkpoint after this many entries (at least 1)",
			val:   &intValue{p: &c.Audit.CheckpointEvery, min: 1}},
		{path: "audit.checkpoint_interval", env: "RAMPART_AUDIT_CHECKPOINT_INTERVAL", flag: "audit-checkpoint-interval", group: GroupServer,
			usage: "sign an audit checkpoint at least this often (at least 1s)",
			val:   &durationValue{p: &c.Audit.CheckpointInterval, min: time.Second}},
		{path: "server.shutdown_timeout", env: "RAMPART_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", group: GroupServer,
			usage: "how long shutdown waits for requests in flight",
			val:   &durationValue{p: &c.Server.ShutdownTimeout}},
		{path: "server.read_header_timeout", env: "RAMPART_READ_HEADER_TIMEOUT", group: GroupServer,
			usage: "time a client has to send the request headers",
			val:   &durationValue{p: &c.Server.ReadHeaderTimeout}},
		{path: "server.idle_timeout", env: "RAMPART_IDLE_TIMEOUT", group: GroupServer,
			usage: "how long an idle keep-alive connection stays open",
			val:   &durationValue{p: &c.Server.IdleTimeout}},
		{path: "server.max_header_bytes", env: "RAMPART_MAX_HEADER_BYTES", group: GroupServer,
			usage: "largest request header accepted, in bytes (at least 4096)",
			val:   &intValue{p: &c.Server.MaxHeaderBytes, min: 4096}},
		{path: "sessions.idle_timeout", env: "RAMPART_SESSIONS_IDLE_TIMEOUT", group: GroupServer,
			usage: "a session unused this long ends (at least 1m)",
			val:   &durationValue{p: &c.Sessions.IdleTimeout, min: time.Minute}},
		{path: "sessions.lifetime", env: "RAMPART_SESSIONS_LIFETIME", group: GroupServer,
			usage: "a session ends this long after sign-in, used or not (at least 5m)",
			val:   &durationValue{p: &c.Sessions.Lifetime, min: 5 * time.Minute}},
		{path: "passwords.memory_kib", env: "RAMPART_PASSWORDS_MEMORY_KIB", group: GroupData,
			usage: "argon2id memory per hash in KiB (OWASP minimum 19456 with 2 iterations; at least 7168)",
			val:   &intValue{p: &c.Passwords.MemoryKiB, min: 7168, max: 4 << 20}},
		{path: "passwords.iterations", env: "RAMPART_PASSWORDS_ITERATIONS", group: GroupData,
			usage: "argon2id passes (1 to 100; memory_kib x iterations must be at least 35840)",
			val:   &intValue{p: &c.Passwords.Iterations, min: 1, max: 100}},
		{path: "passwords.parallelism", env: "RAMPART_PASSWORDS_PARALLELISM", group: GroupData,
			usage: "argon2id lanes (1 to 255)",
			val:   &intValue{p: &c.Passwords.Parallelism, min: 1, max: 255}},
		{path: "passwords.max_concurrent", env: "RAMPART_PASSWORDS_MAX_CONCURRENT", group: GroupData,
			usage: "password hashes computed at once; bounds memory to this x memory_kib; 0 means 2 per CPU",
			val:   &intValue{p: &c.Passwords.MaxConcurrent, min: 0, max: 1024}},
		{path: "security.contact", env: "RAMPART_SECURITY_CONTACT", group: GroupServer,
			usage: "Contact line of /.well-known/security.txt: a mailto: or https: URI where vulnerabilities are reported",
			val:   &stringValue{p: &c.Security.Contact, typ: "uri", check: checkContact}},
		{path: "mail.from", env: "RAMPART_MAIL_FROM", group: GroupServer,
			usage: "From address of invitations and password-reset mails",
			val:   &stringValue{p: &c.Mail.From, typ: "email", check: checkEmail}},
		{path: "smtp.host", env: "RAMPART_SMTP_HOST", group: GroupServer,
			usage: "SMTP submission server; empty means mails are written to <data_dir>/outbox as .eml files",
			val:   &stringValue{p: &c.SMTP.Host, typ: "hostname", check: optional(checkHost)}},
		{path: "smtp.port", env: "RAMPART_SMTP_PORT", group: GroupServer,
			usage: "SMTP server port (587 for starttls, 465 for tls)",
			val:   &intValue{p: &c.SMTP.Port, min: 1, max: 65535}},
		{path: "smtp.username", env: "RAMPART_SMTP_USERNAME", group: GroupServer,
			usage: "SMTP login (AUTH PLAIN, only over TLS); set together with smtp.password",
			val:   &stringValue{p: &c.SMTP.Username, typ: "text"}},
		{path: "smtp.password", env: "RAMPART_SMTP_PASSWORD", group: GroupServer, secret: true,
			usage: "SMTP password for smtp.username",
			val:   &secretValue{p: &c.SMTP.Password}},
		{path: "smtp.tls_mode", env: "RAMPART_SMTP_TLS_MODE", group: GroupServer,
			usage: "starttls (upgrade when offered; required with a login), tls (TLS from the first byte) or none (loopback hosts only)",
			val:   &stringValue{p: &c.SMTP.TLSMode, typ: "starttls|tls|none", check: oneOf("starttls", "tls", "none")}},
		{path: "smtp.ca_file", env: "RAMPART_SMTP_CA_FILE", group: GroupServer,
			usage: "PEM file of CA certificates trusted for the SMTP server instead of the system roots (a private CA); empty means the system roots",
			val:   &stringValue{p: &c.SMTP.CAFile, typ: "path"}},
		{path: "files.max_size", env: "RAMPART_FILES_MAX_SIZE", group: GroupServer,
			usage: "largest file accepted, in bytes or with a unit (512MiB, 5GiB); larger uploads get 413",
			val:   &sizeValue{p: &c.Files.MaxSize, min: 1, max: 1 << 40}},
		{path: "files.store", env: "RAMPART_FILES_STORE", group: GroupServer,
			usage: "where new files' encrypted parts go: database (the default: one snapshot holds everything) or s3 (files.s3.*); existing files stay where they were written",
			val:   &stringValue{p: &c.Files.Store, typ: "database|s3", check: oneOf("database", "s3")}},
		{path: "files.s3.endpoint", env: "RAMPART_FILES_S3_ENDPOINT", group: GroupServer,
			usage: "host[:port] of the S3-compatible service for files (required with files.store s3)",
			val:   &stringValue{p: &c.Files.S3.Endpoint, typ: "host[:port]", check: optional(checkHostPort)}},
		{path: "files.s3.bucket", env: "RAMPART_FILES_S3_BUCKET", group: GroupServer,
			usage: "bucket for file parts, which must exist (required with files.store s3); objects are <org id>/<file id>/<part>",
			val:   &stringValue{p: &c.Files.S3.Bucket, typ: "bucket", check: optional(checkBucket)}},
		{path: "files.s3.region", env: "RAMPART_FILES_S3_REGION", group: GroupServer,
			usage: "S3 region of files.s3.bucket; empty lets the client find it",
			val:   &stringValue{p: &c.Files.S3.Region, typ: "text"}},
		{path: "files.s3.access_key", env: "RAMPART_FILES_S3_ACCESS_KEY", group: GroupServer,
			usage: "S3 access key id for files",
			val:   &stringValue{p: &c.Files.S3.AccessKey, typ: "text"}},
		{path: "files.s3.secret_key", env: "RAMPART_FILES_S3_SECRET_KEY", group: GroupServer, secret: true,
			usage: "S3 secret access key for files",
			val:   &secretValue{p: &c.Files.S3.SecretKey}},
		{path: "files.s3.insecure", env: "RAMPART_FILES_S3_INSECURE", group: GroupServer,
			usage: "talk plain HTTP to files.s3.endpoint; only allowed for a loopback endpoint (a local MinIO, tests)",
			val:   &boolValue{p: &c.Files.S3.Insecure}},
		{path: "backup.schedule", env: "RAMPART_BACKUP_SCHEDULE", group: GroupData,
			usage: "when serve takes a backup by itself: off, hourly (on the hour) or daily@HH:MM (server's local time)",
			val:   &stringValue{p: &c.Backup.Schedule, typ: "off|hourly|daily@HH:MM", check: checkBackupSchedule}},
		{path: "backup.recipients", env: "RAMPART_BACKUP_RECIPIENTS", group: GroupData,
			usage: "age X25519 recipients (age1..., comma-separated) backups are encrypted to; `rampart backup keygen` makes one",
			val:   &listValue{p: &c.Backup.Recipients, typ: "age recipient", check: checkAgeRecipient}},
		{path: "backup.target", env: "RAMPART_BACKUP_TARGET", group: GroupData,
			usage: "where backups go: a directory (best on another disk) or s3://bucket/prefix; empty means <data_dir>/backups",
			val:   &stringValue{p: &c.Backup.Target, typ: "path|s3 URL", check: optional(checkBackupTarget)}},
		{path: "backup.s3.endpoint", env: "RAMPART_BACKUP_S3_ENDPOINT", group: GroupData,
			usage: "host[:port] of the S3-compatible service; empty means s3.amazonaws.com",
			val:   &stringValue{p: &c.Backup.S3.Endpoint, typ: "host[:port]", check: optional(checkHostPort)}},
		{path: "backup.s3.region", env: "RAMPART_BACKUP_S3_REGION", group: GroupData,
			usage: "S3 region; empty lets the client find it",
			val:   &stringValue{p: &c.Backup.S3.Region, typ: "text"}},
		{path: "backup.s3.access_key", env: "RAMPART_BACKUP_S3_ACCESS_KEY", group: GroupData,
			usage: "S3 access key id",
			val:   &stringValue{p: &c.Backup.S3.AccessKey, typ: "text"}},
		{path: "backup.s3.secret_key", env: "RAMPART_BACKUP_S3_SECRET_KEY", group: GroupData, secret: true,
			usage: "S3 secret access key",
			val:   &secretValue{p: &c.Backup.S3.SecretKey}},
		{path: "backup.s3.insecure", env: "RAMPART_BACKUP_S3_INSECURE", group: GroupData,
			usage: "talk plain HTTP to backup.s3.endpoint; only allowed for a loopback endpoint (a local MinIO, tests)",
			val:   &boolValue{p: &c.Backup.S3.Insecure}},
		{path: "backup.retention.min_age", env: "RAMPART_BACKUP_RETENTION_MIN_AGE", group: GroupData,
			usage: "pruning keeps every backup younger than this (840h = 35 days)",
			val:   &durationValue{p: &c.Backup.Retention.MinAge}},
		{path: "backup.retention.daily", env: "RAMPART_BACKUP_RETENTION_DAILY", group: GroupData,
			usage: "pruning also keeps the newest backup of each of the last N days with backups",
			val:   &intValue{p: &c.Backup.Retention.Daily, min: 0, max: 10000}},
		{path: "backup.retention.weekly", env: "RAMPART_BACKUP_RETENTION_WEEKLY", group: GroupData,
			usage: "... and of each of the last N ISO weeks",
			val:   &intValue{p: &c.Backup.Retention.Weekly, min: 0, max: 10000}},
		{path: "backup.retention.monthly", env: "RAMPART_BACKUP_RETENTION_MONTHLY", group: GroupData,
			usage: "... and of each of the last N months",
			val:   &intValue{p: &c.Backup.Retention.Monthly, min: 0, max: 10000}},
		{path: "backup.alert_webhook", env: "RAMPART_BACKUP_ALERT_WEBHOOK", group: GroupData, secret: true,
			usage: "https URL (http only to loopback) a failed backup, prune, verify or drill is POSTed to as JSON {event,error,time}; empty means log only",
			val:   &secretValue{p: &c.Backup.AlertWebhook, check: optional(checkWebhookURL)}},
		{path: "oidc.access_token_ttl", env: "RAMPART_OIDC_ACCESS_TOKEN_TTL", group: GroupServer,
			usage: "lifetime of OAuth access tokens (JWTs; at least 1s)",
			val:   &durationValue{p: &c.OIDC.AccessTokenTTL, min: time.Second}},
		{path: "oidc.refresh_token_ttl", env: "RAMPART_OIDC_REFRESH_TOKEN_TTL", group: GroupServer,
			usage: "lifetime of OAuth refresh tokens (rotated on every use; at least 1m)",
			val:   &durationValue{p: &c.OIDC.RefreshTokenTTL, min: time.Minute}},
		{path: "oidc.signing_key_rotation", env: "RAMPART_OIDC_SIGNING_KEY_ROTATION", group: GroupServer,
			usage: "how long a token signing key signs before a new one replaces it (at least 1h)",
			val:   &durationValue{p: &c.OIDC.SigningKeyRotation, min: time.Hour}},
		{path: "gateway.routes", env: "RAMPART_GATEWAY_ROUTES", group: GroupServer,
			usage: `API gateway routes, each "PREFIX UPSTREAM [scope=S]... [rate=N] [inject=SECRET_ID:HEADER]" with UPSTREAM http://127.0.0.1:PORT or unix:/PATH (comma-separated)`,
			val:   &listValue{p: &c.Gateway.Routes, typ: "route", check: checkGatewayRoute}},
		{path: "kyc.matcher", env: "RAMPART_KYC_MATCHER", group: GroupServer,
			usage: "identity verification's face matcher: off (POST /api/v1/kyc/verifications answers 503), embedded (the Node face service in kyc.faceservice_dir) or remote (kyc.remote_*)",
			val:   &stringValue{p: &c.KYC.Matcher, typ: "off|embedded|remote", check: oneOf("off", "embedded", "remote")}},
		{path: "kyc.face_threshold", env: "RAMPART_KYC_FACE_THRESHOLD", group: GroupServer,
			usage: "face score (0 to 1) at or above which a document photo and a selfie are taken for the same person",
			val:   &floatValue{p: &c.KYC.FaceThreshold, min: 0, max: 1}},
		{path: "kyc.max_image_bytes", env: "RAMPART_KYC_MAX_IMAGE_BYTES", group: GroupServer,
			usage: "largest document or selfie image accepted (larger: 413); images are held in memory only",
			val:   &sizeValue{p: &c.KYC.MaxImageBytes, min: 1024, max: 64 << 20}},
		{path: "kyc.max_image_pixels", env: "RAMPART_KYC_MAX_IMAGE_PIXELS", group: GroupServer,
			usage: "most pixels (width x height, read from the header before decoding) an image may have",
			val:   &intValue{p: &c.KYC.MaxImagePixels, min: 1, max: 200_000_000}},
		{path: "kyc.faceservice_dir", env: "RAMPART_KYC_FACESERVICE_DIR", group: GroupServer,
			usage: "directory of the embedded face service (server.js, after npm ci), for kyc.matcher embedded",
			val:   &stringValue{p: &c.KYC.FaceServiceDir, typ: "path"}},
		{path: "kyc.node", env: "RAMPART_KYC_NODE", group: GroupServer,
			usage: "Node.js 20+ binary that runs the face service; empty looks node up in PATH",
			val:   &stringValue{p: &c.KYC.Node, typ: "path"}},
		{path: "kyc.remote_endpoint", env: "RAMPART_KYC_REMOTE_ENDPOINT", group: GroupServer,
			usage: "https base URL of a face-verification API with the Azure Face detect/verify shapes, for kyc.matcher remote",
			val:   &stringValue{p: &c.KYC.RemoteEndpoint, typ: "URL", check: optional(checkHTTPSURL)}},
		{path: "kyc.remote_key", env: "RAMPART_KYC_REMOTE_KEY", group: GroupServer, secret: true,
			usage: "API key of kyc.remote_endpoint (sent as Ocp-Apim-Subscription-Key)",
			val:   &secretValue{p: &c.KYC.RemoteKey}},
	}
}

// Settings returns every setting with its names, default and usage, in
// table order.
func Settings() []SettingInfo {
	d := Default()
	t := table(&d)
	out := make([]SettingInfo, len(t))
	for i, s := range t {
		out[i] = SettingInfo{
			Path: s.path, Env: s.env, Flag: s.flag, Type: s.val.typeName(),
			Default: s.val.String(), Usage: s.usage, Secret: s.secret,
		}
	}
	return out
}

// value parses raw strings into one field of a Config and formats it back.
type value interface {
	// set parses raw and stores the result. On failure the field is left
	// unchanged and the result is the problem, worded after the setting's
	// label: `"abc" is not a host:port address`. Only list values take more
	// than one raw string. A secret's problem must not quote the raw value.
	set(raw []string) (problem string)
	// String formats the field as it would be written in the file.
	String() string
	// yaml returns the field for printing as YAML.
	yaml() any
	// typeName says what the value looks like, for docs and flag help.
	typeName() string
	// field returns the pointer into Config (for the coverage test).
	field() any
}

// stringValue is a string setting with an optional rule.
type stringValue struct {
	p     *string
	typ   string
	check func(string) string // nil means any string
}

func (v *stringValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	if v.check != nil {
		if problem := v.check(s); problem != "" {
			return problem
		}
	}
	*v.p = s
	return ""
}
func (v *stringValue) String() string   { return *v.p }
func (v *stringValue) yaml() any        { return *v.p }
func (v *stringValue) typeName() string { return v.typ }
func (v *stringValue) field() any       { return v.p }

// intValue is a decimal integer setting with a minimum and, when max is
// not 0, a maximum.
type intValue struct {
	p   *int
	min int
	max int
}

func (v *intValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Sprintf("%q is not an integer", s)
	}
	if n < v.min {
		return fmt.Sprintf("%q is below the minimum of %d", s, v.min)
	}
	if v.max != 0 && n > v.max {
		return fmt.Sprintf("%q is above the maximum of %d", s, v.max)
	}
	*v.p = n
	return ""
}
func (v *intValue) String() string   { return strconv.Itoa(*v.p) }
func (v *intValue) yaml() any        { return *v.p }
func (v *intValue) typeName() string { return "int" }
func (v *intValue) field() any       { return v.p }

// secretValue is a plain secret string, such as a password. Its String is
// Redacted whenever it is set: whatever prints a setting through String
// (config print, docs) can then never show it, and a problem never quotes
// it. The value itself is read from the Config field.
type secretValue struct {
	p *string
	// check, when set, must word its problem without quoting the value.
	check func(string) string
}

func (v *secretValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	if v.check != nil {
		if problem := v.check(s); problem != "" {
			return problem
		}
	}
	*v.p = s
	return ""
}

func (v *secretValue) String() string {
	if *v.p == "" {
		return ""
	}
	return Redacted
}
func (v *secretValue) yaml() any        { return v.String() }
func (v *secretValue) typeName() string { return "secret" }
func (v *secretValue) field() any       { return v.p }

// boolValue is a true/false setting.
type boolValue struct {
	p *bool
}

func (v *boolValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Sprintf("%q is not true or false", s)
	}
	*v.p = b
	return ""
}
func (v *boolValue) String() string   { return strconv.FormatBool(*v.p) }
func (v *boolValue) yaml() any        { return *v.p }
func (v *boolValue) typeName() string { return "bool" }
func (v *boolValue) field() any       { return v.p }

// durationValue is a Go duration setting ("30s", "5m", "1h30m"). A zero min
// means the duration must be greater than 0.
type durationValue struct {
	p   *time.Duration
	min time.Duration
}

func (v *durationValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Sprintf("%q is not a duration (write it with a unit, like 30s, 5m or 1h30m)", s)
	}
	if v.min == 0 && d <= 0 {
		return fmt.Sprintf("%q is not greater than 0", s)
	}
	if d < v.min {
		return fmt.Sprintf("%q is below the minimum of %s", s, formatDuration(v.min))
	}
	*v.p = d
	return ""
}
func (v *durationValue) String() string   { return formatDuration(*v.p) }
func (v *durationValue) yaml() any        { return formatDuration(*v.p) }
func (v *durationValue) typeName() string { return "duration" }
func (v *durationValue) field() any       { return v.p }

// formatDuration writes d without the zero units time.Duration.String adds:
// 5m rather than 5m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// listValue is a list of strings. Every raw string is split on commas and
// trimmed, and empty items are dropped, so "a.com, b.com" from the
// environment, a YAML list and repeated flags all give the same list; an
// empty string gives an empty list. A later layer replaces the whole list.
type listValue struct {
	p     *[]string
	typ   string
	check func(string) string
}

func (v *listValue) set(raw []string) string {
	items := []string{}
	seen := map[string]bool{}
	var problems []string
	for _, r := range raw {
		for _, item := range strings.Split(r, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if seen[item] {
				problems = append(problems, fmt.Sprintf("%q is listed twice", item))
			} else if v.check != nil {
				if problem := v.check(item); problem != "" {
					problems = append(problems, problem)
				}
			}
			seen[item] = true
			items = append(items, item)
		}
	}
	if len(problems) > 0 {
		return strings.Join(problems, "; ")
	}
	*v.p = items
	return ""
}
func (v *listValue) String() string   { return strings.Join(*v.p, ",") }
func (v *listValue) typeName() string { return v.typ }
func (v *listValue) field() any       { return v.p }
func (v *listValue) yaml() any {
	if *v.p == nil {
		return []string{}
	}
	return *v.p
}

// Rules. Each returns "" when s is acceptable, otherwise the problem starting
// with the quoted value.

func nonEmpty(s string) string {
	if s == "" {
		return "must not be empty"
	}
	return ""
}

// optional applies check to non-empty values only.
func optional(check func(string) string) func(string) string {
	return func(s string) string {
		if s == "" {
			return ""
		}
		return check(s)
	}
}

// oneOf accepts exactly the allowed values and lists them when it refuses.
func oneOf(allowed ...string) func(string) string {
	return func(s string) string {
		for _, a := range allowed {
			if s == a {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of: %s", s, strings.Join(allowed, ", "))
	}
}

func checkListenAddr(s string) string {
	if ok, why := checkAddr(s); !ok {
		return fmt.Sprintf("%q is not a host:port address%s", s, why)
	}
	return ""
}

func checkRedirectAddr(s string) string {
	if s == ListenOff {
		return ""
	}
	if ok, why := checkAddr(s); !ok {
		return fmt.Sprintf("%q is not a host:port address or %q%s", s, ListenOff, why)
	}
	return ""
}

// checkAddr accepts a host:port with a numeric port 0-65535 and a host that
// is empty, an IP address or a hostname. When it refuses, why is a detail in
// parentheses, or empty when the shape alone is wrong.
func checkAddr(s string) (ok bool, why string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return false, ""
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return false, " (the port must be a number from 0 to 65535)"
	}
	if host != "" && !isHostname(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return false, fmt.Sprintf(" (%q is neither a hostname nor an IP address)", host)
		}
	}
	return true, ""
}

// isHostname reports whether s is a DNS name of letters, digits and hyphens
// (RFC 1123 labels); a single label such as "localhost" counts.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkACMEDomain accepts names an ACME CA can issue for with the HTTP-01 or
// TLS-ALPN-01 challenges: fully qualified, no wildcard, not an IP address.
func checkACMEDomain(s string) string {
	_, ipErr := netip.ParseAddr(s)
	if !isHostname(s) || !strings.Contains(s, ".") || ipErr == nil {
		return fmt.Sprintf("%q is not a fully qualified hostname (like app.example.com; no wildcards or IP addresses)", s)
	}
	return ""
}

// checkHost accepts a hostname or an IP address, nothing that could carry
// a port, a path or a line break.
func checkHost(s string) string {
	if isHostname(s) {
		return ""
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return ""
	}
	return fmt.Sprintf("%q is not a hostname or IP address (give the port in smtp.port)", s)
}

func checkEmail(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Sprintf("%q is not an email address (like ops@example.com)", s)
	}
	return ""
}

// checkHTTPSURL accepts an absolute https URL with a host and no user info,
// query or fragment.
func checkHTTPSURL(s string) string {
	u, err := url.Parse(s)
	var why string
	switch {
	case err != nil:
		why = "it does not parse"
	case u.Scheme != "https":
		why = "the scheme must be https"
	case u.Host == "" || u.Hostname() == "":
		why = "the host is missing"
	case u.User != nil:
		why = "user info is not allowed"
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		why = "a query or fragment is not allowed"
	default:
		return ""
	}
	return fmt.Sprintf("%q is not an absolute https URL (%s)", s, why)
}

// checkDatabaseURL accepts "", sqlite:PATH (or sqlite://PATH) and postgres://
// or postgresql:// URLs that parse. database_url is secret, so the value is
// only ever quoted redacted, and the URL parser's own error, which can echo
// part of the password, is never included.
func checkDatabaseURL(s string) string {
	switch {
	case s == "":
		return ""
	case hasPrefixFold(s, "sqlite:"):
		if p, _ := sqlitePath(s); p == "" {
			return fmt.Sprintf("%q has no file path (write sqlite:PATH or sqlite:///ABSOLUTE/PATH)", redactURL(s))
		}
		return ""
	case isPostgresURL(s):
		if u, err := url.Parse(s); err != nil || u.Host == "" && u.Path == "" && u.RawQuery == "" {
			return "the value is not a valid PostgreSQL URL (the value is not shown because it may contain a password)"
		}
		return ""
	default:
		return fmt.Sprintf("%q is not a supported database URL (use sqlite:PATH, postgres://... or postgresql://...)", redactURL(s))
	}
}

// sqlitePath returns the file path of a sqlite:PATH or sqlite://PATH URL
// (so sqlite:///abs/x.db is /abs/x.db and sqlite:rel/x.db is rel/x.db).
func sqlitePath(s string) (string, bool) {
	switch {
	case hasPrefixFold(s, "sqlite://"):
		return s[len("sqlite://"):], true
	case hasPrefixFold(s, "sqlite:"):
		return s[len("sqlite:"):], true
	}
	return "", false
}

func isPostgresURL(s string) bool {
	return hasPrefixFold(s, "postgres://") || hasPrefixFold(s, "postgresql://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// checkContact accepts the URI schemes RFC 9116 expects for Contact.
func checkContact(s string) string {
	if (strings.HasPrefix(s, "mailto:") && len(s) > len("mailto:")+2) || strings.HasPrefix(s, "https://") {
		if strings.ContainsAny(s, " \r\n") {
			return fmt.Sprintf("%q must not contain spaces or line breaks", s)
		}
		return ""
	}
	return fmt.Sprintf("%q is not a mailto: or https: URI", s)
}

// checkBackupSchedule accepts off, hourly and daily@HH:MM (the same rules
// as backup.ParseSchedule, which this package cannot import).
func checkBackupSchedule(s string) string {
	if s == "off" || s == "hourly" {
		return ""
	}
	if hm, ok := strings.CutPrefix(s, "daily@"); ok && len(hm) == 5 && hm[2] == ':' {
		h, err1 := strconv.Atoi(hm[:2])
		m, err2 := strconv.Atoi(hm[3:])
		if err1 == nil && err2 == nil && h >= 0 && h < 24 && m >= 0 && m < 60 {
			return ""
		}
	}
	return fmt.Sprintf("%q is not off, hourly or daily@HH:MM (like daily@02:00)", s)
}

// checkAgeRecipient accepts an age X25519 recipient (a public key).
func checkAgeRecipient(s string) string {
	if _, err := age.ParseX25519Recipient(s); err != nil {
		return fmt.Sprintf("%q is not an age X25519 recipient (age1...; `rampart backup keygen` makes one)", s)
	}
	return ""
}

// checkBackupTarget accepts s3://bucket[/prefix] or a path (anything that
// is not a URL of another scheme).
func checkBackupTarget(s string) string {
	if hasPrefixFold(s, "s3://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Sprintf("%q is not s3://bucket or s3://bucket/prefix", s)
		}
		return ""
	}
	if i := strings.Index(s, "://"); i > 0 {
		return fmt.Sprintf("%q is neither a directory nor an s3://bucket/prefix URL", s)
	}
	return ""
}

// checkHostPort accepts host or host:port.
func checkHostPort(s string) string {
	if ok, _ := checkAddr(s); ok {
		if h, _, _ := net.SplitHostPort(s); h != "" {
			return ""
		}
	}
	if checkHost(s) == "" {
		return ""
	}
	return fmt.Sprintf("%q is not a host or host:port", s)
}

// checkWebhookURL accepts an https URL, or http to a loopback host. The
// value may hold a token, so the problem never quotes it.
func checkWebhookURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "the value is not an absolute URL (not shown: it may hold a token)"
	}
	if u.Scheme == "https" {
		return ""
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); h == "localhost" || (err == nil && ip.IsLoopback()) {
			return ""
		}
	}
	return "the URL must be https (http only to a loopback host); the value is not shown: it may hold a token"
}

// GatewayRoute is one parsed gateway.routes item.
type GatewayRoute struct {
	Prefix       string   // path prefix, starting and ending with "/"
	Upstream     string   // http://LOOPBACK:PORT[/PATH] or unix:/ABSOLUTE/PATH
	Scopes       []string // every one is required
	RateLimit    float64  // calls per second per client; 0 means unlimited
	InjectSecret string   // credential-vault secret id, or ""
	InjectHeader string   // header the secret's value is sent in
}

// ParseGatewayRoute parses "PREFIX UPSTREAM [scope=S]... [rate=N]
// [inject=SECRET_ID:HEADER]". Upstreams must be loopback or Unix sockets:
// the gateway fronts internal services only.
func ParseGatewayRoute(s string) (GatewayRoute, string) {
	f := strings.Fields(s)
	q := strconv.Quote(s)
	if len(f) < 2 {
		return GatewayRoute{}, q + ` is not "PREFIX UPSTREAM [scope=S]... [rate=N] [inject=SECRET_ID:HEADER]"`
	}
	r := GatewayRoute{Prefix: f[0], Upstream: f[1], Scopes: []string{}}
	if !strings.HasPrefix(r.Prefix, "/") || !strings.HasSuffix(r.Prefix, "/") || len(r.Prefix) < 3 || strings.ContainsAny(r.Prefix, "?#%* ") {
		return r, q + ": the prefix must be a path that starts and ends with / (like /gw/kyc/)"
	}
	if strings.HasPrefix(r.Prefix, "/api/") || strings.HasPrefix(r.Prefix, "/oauth/") || strings.HasPrefix(r.Prefix, "/.well-known/") {
		return r, q + ": the prefix must not be under /api/, /oauth/ or /.well-known/"
	}
	if path, ok := strings.CutPrefix(r.Upstream, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return r, q + ": a unix: upstream needs an absolute socket path"
		}
	} else {
		u, err := url.Parse(r.Upstream)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return r, q + ": the upstream must be http://127.0.0.1:PORT (or another loopback address) or unix:/PATH"
		}
		host := u.Hostname()
		if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return r, q + ": the upstream " + strconv.Quote(host) + " is not a loopback address; internal services are reached on 127.0.0.1, ::1 or a unix socket only"
		}
	}
	for _, opt := range f[2:] {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "scope":
			if v == "" {
				return r, q + ": scope= needs a value"
			}
			r.Scopes = append(r.Scopes, v)
		case "rate":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n <= 0 || n > 1e6 {
				return r, q + ": rate must be a number of calls per second above 0"
			}
			r.RateLimit = n
		case "inject":
			id, h, ok := strings.Cut(v, ":")
			if !ok || id == "" || h == "" || strings.ContainsAny(h, " \t:") {
				return r, q + ": inject must be SECRET_ID:HEADER"
			}
			r.InjectSecret, r.InjectHeader = id, h
		default:
			return r, q + ": unknown option " + strconv.Quote(opt) + " (use scope=, rate=, inject=)"
		}
	}
	return r, ""
}

func checkGatewayRoute(s string) string {
	_, problem := ParseGatewayRoute(s)
	return problem
}

// GatewayRoutes returns the parsed gateway.routes (validated on load).
func (c Config) GatewayRoutes() []GatewayRoute {
	out := make([]GatewayRoute, 0, len(c.Gateway.Routes))
	for _, s := range c.Gateway.Routes {
		if r, problem := ParseGatewayRoute(s); problem == "" {
			out = append(out, r)
		}
	}
	return out
}
