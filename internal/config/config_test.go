package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// leafFields returns a pointer to every field of v (a struct) that is not
// itself a struct, with its Go path.
func leafFields(v reflect.Value, prefix string, out map[any]string) {
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		name := prefix + sf.Name
		if f.Kind() == reflect.Struct {
			leafFields(f, name+".", out)
			continue
		}
		out[f.Addr().Interface()] = name
	}
}

func TestEveryFieldOfConfigHasExactlyOneSetting(t *testing.T) {
	var c Config
	fields := map[any]string{}
	leafFields(reflect.ValueOf(&c).Elem(), "", fields)

	covered := map[any]string{}
	for _, s := range table(&c) {
		p := s.val.field()
		name, ok := fields[p]
		if !ok {
			t.Errorf("setting %s points outside Config", s.path)
			continue
		}
		if other, dup := covered[p]; dup {
			t.Errorf("field %s is set by both %s and %s", name, other, s.path)
		}
		covered[p] = s.path
	}
	for p, name := range fields {
		if _, ok := covered[p]; !ok {
			t.Errorf("field Config.%s has no setting", name)
		}
	}
	if n := len(Settings()); n != len(fields) {
		t.Errorf("Settings() has %d entries, Config has %d fields", n, len(fields))
	}
}

func TestSettingNamesAreUniqueAndConsistent(t *testing.T) {
	seen := map[string]string{}
	claim := func(kind, name, path string) {
		if other, dup := seen[kind+name]; dup {
			t.Errorf("%s %q is used by both %s and %s", kind, name, other, path)
		}
		seen[kind+name] = path
	}
	for _, s := range Settings() {
		claim("path", s.Path, s.Path)
		claim("env", s.Env, s.Path)
		if s.Flag != "" {
			claim("flag", s.Flag, s.Path)
		}
		if !strings.HasPrefix(s.Env, "RAMPART_") || s.Env != strings.ToUpper(s.Env) {
			t.Errorf("%s: environment variable %q is not RAMPART_ and upper case", s.Path, s.Env)
		}
		if isNonSettingEnv(s.Env) {
			t.Errorf("%s: %s is in the non-setting allow-list", s.Path, s.Env)
		}
		if s.Usage == "" || s.Type == "" {
			t.Errorf("%s has no usage or type", s.Path)
		}
		if s.Flag == flagConfig {
			t.Errorf("%s uses the --config flag", s.Path)
		}
	}
}

func TestSettingsListsDefaultsAsWritten(t *testing.T) {
	want := map[string]string{
		"data_dir": "./rampart-data", "listen.https": ":8443", "listen.http": ":8080", "public_url": "",
		"tls.acme.domains": "", "keys.provider": "local", "audit.checkpoint_every": "1000",
		"audit.checkpoint_interval": "5m", "server.idle_timeout": "2m", "server.max_header_bytes": "65536",
	}
	for _, s := range Settings() {
		if w, ok := want[s.Path]; ok && s.Default != w {
			t.Errorf("%s default = %q, want %q", s.Path, s.Default, w)
		}
		if s.Secret != (s.Path == "database_url" || s.Path == "smtp.password" || s.Path == "backup.s3.secret_key" || s.Path == "files.s3.secret_key" || s.Path == "backup.alert_webhook" || s.Path == "kyc.remote_key") {
			t.Errorf("%s secret = %v", s.Path, s.Secret)
		}
	}
}

func TestMarkdownReferenceNamesEverySetting(t *testing.T) {
	md := MarkdownReference()
	for _, s := range Settings() {
		for _, name := range []string{"`" + s.Env + "`", "`" + s.Path + "`"} {
			if !strings.Contains(md, name) {
				t.Errorf("MarkdownReference lacks %s", name)
			}
		}
		if s.Flag != "" && !strings.Contains(md, "`--"+s.Flag+"`") {
			t.Errorf("MarkdownReference lacks --%s", s.Flag)
		}
	}
	for _, name := range nonSettingEnv {
		if !strings.Contains(md, "`"+name+"`") {
			t.Errorf("MarkdownReference lacks the allowed variable %s", name)
		}
	}
	rows := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows++
			if cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); cells != 7 {
				t.Errorf("row has %d separators, want 7: %s", cells, line)
			}
		}
	}
	if rows != len(Settings()) {
		t.Errorf("%d rows, want %d", rows, len(Settings()))
	}
}

func TestRegisterFlagsByGroup(t *testing.T) {
	names := func(groups ...Group) []string {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		RegisterFlags(fs, groups...)
		RegisterFlags(fs, groups...) // again: adds nothing, does not panic
		var out []string
		fs.VisitAll(func(f *pflag.Flag) { out = append(out, f.Name) })
		return out
	}
	data := strings.Join(names(GroupData), " ")
	if want := "config data-dir database-url keys-provider log-format log-level root-key-file"; data != want {
		t.Errorf("GroupData flags = %s, want %s", data, want)
	}
	server := names(GroupServer)
	all := names()
	both := names(GroupData, GroupServer)
	if len(all) != len(both) || len(all) != len(server)+6 {
		t.Errorf("all = %v, server = %v", all, server)
	}
	for _, s := range Settings() {
		if s.Flag != "" && !strings.Contains(" "+strings.Join(all, " ")+" ", " "+s.Flag+" ") {
			t.Errorf("flag --%s is not registered", s.Flag)
		}
	}
}

func TestFlagHelpShowsTypesDefaultsAndEnvironment(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	RegisterFlags(fs)
	help := fs.FlagUsages()
	for _, want := range []string{
		"--config file ",
		"--listen-https host:port ",
		"(RAMPART_LISTEN_HTTPS) (default :8443)",
		"--audit-checkpoint-interval duration ",
		"(default 5m)",
		"--acme-domain hostname ",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

func TestDerivedValues(t *testing.T) {
	c := Default()
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("SQLitePath", c.SQLitePath(), "rampart-data/rampart.db")
	check("RootKeyPath", c.RootKeyPath(), "rampart-data/root.key")
	check("ACMECacheDir", c.ACMECacheDir(), "rampart-data/acme")
	check("EffectivePublicURL", c.EffectivePublicURL(), "https://localhost:8443")
	if c.IsPostgres() {
		t.Error("the default is PostgreSQL")
	}

	c.DataDir = "/srv/rampart"
	c.Keys.RootKeyFile = "/etc/rampart/root.key"
	c.TLS.ACME.CacheDir = "/var/cache/acme"
	c.PublicURL = "https://id.example.com/"
	check("RootKeyPath", c.RootKeyPath(), "/etc/rampart/root.key")
	check("ACMECacheDir", c.ACMECacheDir(), "/var/cache/acme")
	check("EffectivePublicURL", c.EffectivePublicURL(), "https://id.example.com")

	c.PublicURL = ""
	c.Listen.HTTPS = "0.0.0.0:443"
	check("EffectivePublicURL", c.EffectivePublicURL(), "https://localhost")

	for url, want := range map[string]string{
		"sqlite:///srv/r.db": "/srv/r.db",
		"sqlite://rel/r.db":  "rel/r.db",
		"sqlite:rel/r.db":    "rel/r.db",
		"SQLite:/abs/r.db":   "/abs/r.db",
		"postgres://h/db":    "",
		"":                   "/srv/rampart/rampart.db",
	} {
		c.DatabaseURL = url
		check("SQLitePath("+url+")", c.SQLitePath(), want)
	}
	for url, want := range map[string]bool{
		"postgres://h/db": true, "postgresql://u:p@h/db": true, "POSTGRES://h/db": true,
		"sqlite:x.db": false, "": false,
	} {
		c.DatabaseURL = url
		if c.IsPostgres() != want {
			t.Errorf("IsPostgres(%q) = %v", url, !want)
		}
	}
}
