package config

import (
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Config is Rampart's whole configuration. The zero value is not useful:
// start from Default or Load. Field docs name the YAML path of each setting;
// Settings lists the environment variables and flags.
type Config struct {
	// DataDir (data_dir) holds the SQLite database, root key and ACME cache
	// unless those are configured elsewhere.
	DataDir string
	// DatabaseURL (database_url) is empty (SQLite in DataDir), sqlite:PATH,
	// or a postgres:// URL. Secret: it may carry a password.
	DatabaseURL string
	// PublicURL (public_url) is the https URL clients use; empty means
	// derived, see EffectivePublicURL.
	PublicURL string
	// Listen holds the listener addresses.
	Listen struct {
		HTTPS string // listen.https: host:port of the HTTPS listener
		HTTP  string // listen.http: host:port of the redirect listener, or "off"
	}
	// TLS chooses where certificates come from: files, ACME, or neither
	// (the server then decides, e.g. a self-signed development certificate).
	TLS struct {
		CertFile string // tls.cert_file: PEM certificate chain
		KeyFile  string // tls.key_file: PEM private key
		// ACME obtains certificates automatically; exclusive with the files.
		ACME struct {
			Domains      []string // tls.acme.domains: hostnames to certify
			Email        string   // tls.acme.email: contact for the CA
			CacheDir     string   // tls.acme.cache_dir: empty means DataDir/acme
			DirectoryURL string   // tls.acme.directory_url: empty means the default CA
		}
	}
	// Keys configures the key provider holding the root key.
	Keys struct {
		Provider    string // keys.provider: "local"
		RootKeyFile string // keys.root_key_file: empty means DataDir/root.key
	}
	// Log configures logging.
	Log struct {
		Format string // log.format: "text" or "json"
		Level  string // log.level: "debug", "info", "warn" or "error"
	}
	// Audit configures the audit log's signed checkpoints.
	Audit struct {
		CheckpointEvery    int           // audit.checkpoint_every: entries between checkpoints
		CheckpointInterval time.Duration // audit.checkpoint_interval: longest time between checkpoints
	}
	// Server tunes the HTTP server.
	Server struct {
		ShutdownTimeout   time.Duration // server.shutdown_timeout
		ReadHeaderTimeout time.Duration // server.read_header_timeout
		IdleTimeout       time.Duration // server.idle_timeout
		MaxHeaderBytes    int           // server.max_header_bytes
	}
	// Mail configures the sender of invitations and password resets.
	Mail struct {
		From string // mail.from: the From address of every mail
	}
	// Sessions sets how long sign-ins last.
	Sessions struct {
		IdleTimeout time.Duration // sessions.idle_timeout: unused this long, a session ends
		Lifetime    time.Duration // sessions.lifetime: a session ends this long after sign-in
	}
	// Passwords tunes argon2id hashing (OWASP minimum by default).
	Passwords struct {
		MemoryKiB     int // passwords.memory_kib
		Iterations    int // passwords.iterations
		Parallelism   int // passwords.parallelism
		MaxConcurrent int // passwords.max_concurrent: 0 means 2 per CPU
	}
	// Security is what the server publishes about vulnerability reports.
	Security struct {
		Contact string // security.contact: security.txt Contact (mailto: or https: URI)
	}
	// SMTP is the mail server. With Host empty, mails are written to
	// DataDir/outbox as .eml files instead (the embedded default).
	SMTP struct {
		Host     string // smtp.host: empty means the outbox directory
		Port     int    // smtp.port
		Username string // smtp.username: set together with Password, or neither
		Password string // smtp.password: secret, sent only over TLS
		TLSMode  string // smtp.tls_mode: "starttls", "tls" or "none"
		CAFile   string // smtp.ca_file: PEM CA certificates trusted instead of the system roots
	}
	// Files configures encrypted file storage (internal/files, internal/blob).
	Files struct {
		MaxSize int64  // files.max_size: largest file accepted, in bytes
		Store   string // files.store: "database" or "s3", where new files go
		S3      struct {
			Endpoint  string // files.s3.endpoint: host[:port]
			Bucket    string // files.s3.bucket
			Region    string // files.s3.region
			AccessKey string // files.s3.access_key
			SecretKey string // files.s3.secret_key: secret
			Insecure  bool   // files.s3.insecure: plain HTTP, loopback endpoints only
		}
	}
	// Backup configures encrypted backups (internal/backup).
	Backup struct {
		Schedule   string   // backup.schedule: "off", "hourly" or "daily@HH:MM" (local time)
		Recipients []string // backup.recipients: age X25519 recipients (age1...)
		Target     string   // backup.target: a directory or s3://bucket/prefix; empty means DataDir/backups
		S3         struct {
			Endpoint  string // backup.s3.endpoint: host[:port]; empty means s3.amazonaws.com
			Region    string // backup.s3.region
			AccessKey string // backup.s3.access_key
			SecretKey string // backup.s3.secret_key: secret
			Insecure  bool   // backup.s3.insecure: plain HTTP, loopback endpoints only
		}
		Retention struct {
			MinAge  time.Duration // backup.retention.min_age: keep every backup younger than this
			Daily   int           // backup.retention.daily: newest backup of each of the last N days
			Weekly  int           // backup.retention.weekly: ... of the last N ISO weeks
			Monthly int           // backup.retention.monthly: ... of the last N months
		}
		AlertWebhook string // backup.alert_webhook: URL a failure is POSTed to; empty means log only
	}
	// OIDC tunes the OAuth 2.0 / OpenID Connect provider (internal/oidc).
	OIDC struct {
		AccessTokenTTL     time.Duration // oidc.access_token_ttl
		RefreshTokenTTL    time.Duration // oidc.refresh_token_ttl
		SigningKeyRotation time.Duration // oidc.signing_key_rotation
	}
	// Gateway lists the routes of the API gateway (internal/gateway); see
	// ParseGatewayRoute for the format of one route.
	Gateway struct {
		Routes []string // gateway.routes
	}
	// KYC configures identity verification (internal/kyc).
	KYC struct {
		Matcher        string  // kyc.matcher: "off", "embedded" or "remote"
		FaceThreshold  float64 // kyc.face_threshold: score in [0, 1]
		MaxImageBytes  int64   // kyc.max_image_bytes
		MaxImagePixels int     // kyc.max_image_pixels
		FaceServiceDir string  // kyc.faceservice_dir: server.js + node_modules
		Node           string  // kyc.node: node binary, "" means PATH
		RemoteEndpoint string  // kyc.remote_endpoint: https base URL
		RemoteKey      string  // kyc.remote_key: secret
	}
}

// Default returns the defaults, which pass validation on their own.
func Default() Config {
	var c Config
	c.DataDir = "./rampart-data"
	c.Listen.HTTPS = ":8443"
	c.Listen.HTTP = ":8080"
	c.TLS.ACME.Domains = []string{}
	c.Keys.Provider = "local"
	c.Log.Format = "text"
	c.Log.Level = "info"
	c.Audit.CheckpointEvery = 1000
	c.Audit.CheckpointInterval = 5 * time.Minute
	c.Server.ShutdownTimeout = 30 * time.Second
	c.Server.ReadHeaderTimeout = 10 * time.Second
	c.Server.IdleTimeout = 120 * time.Second
	c.Server.MaxHeaderBytes = 64 << 10
	c.Mail.From = "rampart@localhost"
	c.Sessions.IdleTimeout = 30 * time.Minute
	c.Sessions.Lifetime = 12 * time.Hour
	c.Passwords.MemoryKiB = 19456
	c.Passwords.Iterations = 2
	c.Passwords.Parallelism = 1
	c.Security.Contact = "mailto:security@localhost"
	c.SMTP.Port = 587
	c.SMTP.TLSMode = "starttls"
	c.Files.MaxSize = 5 << 30
	c.Files.Store = "database"
	c.Backup.Schedule = "daily@02:00"
	c.Backup.Recipients = []string{}
	c.Backup.Retention.MinAge = 35 * 24 * time.Hour
	c.Backup.Retention.Daily = 3
	c.Backup.Retention.Weekly = 3
	c.Backup.Retention.Monthly = 3
	c.OIDC.AccessTokenTTL = 10 * time.Minute
	c.OIDC.RefreshTokenTTL = 30 * 24 * time.Hour
	c.OIDC.SigningKeyRotation = 30 * 24 * time.Hour
	c.Gateway.Routes = []string{}
	c.KYC.Matcher = "off"
	c.KYC.FaceThreshold = 0.58
	c.KYC.MaxImageBytes = 10 << 20
	c.KYC.MaxImagePixels = 40_000_000
	return c
}

// ListenOff is the listen.http value that disables the redirect listener.
const ListenOff = "off"

// IsPostgres reports whether DatabaseURL names a PostgreSQL database.
func (c Config) IsPostgres() bool {
	return isPostgresURL(c.DatabaseURL)
}

// SQLitePath returns the SQLite database file: the path of a sqlite: URL, or
// DataDir/rampart.db when DatabaseURL is empty. It returns "" for PostgreSQL.
// A relative path is relative to the working directory, not to DataDir.
func (c Config) SQLitePath() string {
	if c.DatabaseURL == "" {
		return filepath.Join(c.DataDir, "rampart.db")
	}
	if p, ok := sqlitePath(c.DatabaseURL); ok {
		return p
	}
	return ""
}

// RootKeyPath returns the local provider's root key file: Keys.RootKeyFile,
// or DataDir/root.key when that is empty.
func (c Config) RootKeyPath() string {
	if c.Keys.RootKeyFile != "" {
		return c.Keys.RootKeyFile
	}
	return filepath.Join(c.DataDir, "root.key")
}

// OutboxDir is where mails go when no SMTP server is configured:
// DataDir/outbox.
func (c Config) OutboxDir() string {
	return filepath.Join(c.DataDir, "outbox")
}

// BackupTarget returns where backups go: Backup.Target, or DataDir/backups
// when that is empty.
func (c Config) BackupTarget() string {
	if c.Backup.Target != "" {
		return c.Backup.Target
	}
	return filepath.Join(c.DataDir, "backups")
}

// ACMECacheDir returns the ACME cache directory: TLS.ACME.CacheDir, or
// DataDir/acme when that is empty.
func (c Config) ACMECacheDir() string {
	if c.TLS.ACME.CacheDir != "" {
		return c.TLS.ACME.CacheDir
	}
	return filepath.Join(c.DataDir, "acme")
}

// EffectivePublicURL returns PublicURL without a trailing slash, or, when it
// is empty, https://localhost:<port of Listen.HTTPS> (no port for 443). With
// port 0 the result names port 0: a server that binds a random port must
// derive its URL from the bound address instead.
func (c Config) EffectivePublicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	_, port, err := net.SplitHostPort(c.Listen.HTTPS)
	if err != nil || port == "443" {
		return "https://localhost"
	}
	return "https://localhost:" + port
}
