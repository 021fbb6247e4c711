package config

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted replaces a secret, or the secret part of one, when printed.
const Redacted = "[REDACTED]"

// WriteRedacted writes the configuration as a YAML config file, every
// setting in table order, with secrets redacted: database_url keeps its
// scheme, user, host, database and options but its password becomes
// [REDACTED]; an empty secret prints as "". Without secrets, the output loads
// back to the same Config.
func (c Config) WriteRedacted(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range table(&c) {
		parent := root
		parts := strings.Split(s.path, ".")
		for _, section := range parts[:len(parts)-1] {
			parent = childMapping(parent, section)
		}
		v := s.val.yaml()
		if s.secret {
			v = redactURL(s.val.String())
		}
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			return fmt.Errorf("config: encoding %s: %w", s.path, err)
		}
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			n.Style = yaml.FlowStyle // [] rather than a bare key
		}
		parent.Content = append(parent.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: parts[len(parts)-1]}, &n)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("config: writing configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: writing configuration: %w", err)
	}
	return nil
}

// childMapping returns the mapping under key in m, adding it if missing.
func childMapping(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, child)
	return child
}

// redactPlaceholder stands in for secrets while url.URL re-encodes the URL;
// it is letters only, so no escaping changes it, and is then replaced by
// Redacted (whose brackets url.URL would escape).
const redactPlaceholder = "RAMPARTREDACTEDSECRET"

// redactURL returns a database URL fit to print: the password in the user
// info and any password-like query parameter (libpq reads password= and
// sslpassword=) are replaced by [REDACTED]. A value that does not parse, or
// that has an "@" outside the user info, is replaced whole: when in doubt,
// print nothing.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || strings.Contains(s, redactPlaceholder) {
		return Redacted
	}
	if strings.Contains(u.Opaque+u.Host+u.Path+u.RawQuery+u.Fragment, "@") {
		// The user info ends at the first "/", "?" or "#", so an unescaped
		// one in a password leaves the rest of it, up to its "@", in the
		// host, path, query or fragment.
		return Redacted
	}
	changed := false
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redactPlaceholder)
		changed = true
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Redacted
		}
		for key := range q {
			if strings.Contains(strings.ToLower(key), "pass") {
				q[key] = []string{redactPlaceholder}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if u.Fragment != "" {
		// Nothing reads a fragment from a database URL; one here is most
		// likely part of a password with an unescaped "#".
		return Redacted
	}
	if !changed {
		return s
	}
	return strings.ReplaceAll(u.String(), redactPlaceholder, Redacted)
}

// MarkdownReference returns a Markdown table of every setting (YAML path,
// environment variable, flag, default and description) followed by a note
// on precedence and the RAMPART_* variables that are not settings, for the
// README.
func MarkdownReference() string {
	var b strings.Builder
	b.WriteString("| Setting (YAML) | Environment | Flag | Type | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, s := range Settings() {
		flag := "—"
		if s.Flag != "" {
			flag = "`--" + s.Flag + "`"
		}
		def := "—"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		usage := mdEscape(s.Usage)
		if s.Secret {
			usage += " **Secret:** never printed in clear."
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s |\n",
			s.Path, s.Env, flag, mdEscape(s.Type), def, usage)
	}
	b.WriteString("\nLater sources override earlier ones: defaults, then the YAML file given by `--config` " +
		"(or `" + EnvConfig + "`), then the environment, then flags. Unknown settings in the file and unknown " +
		"`RAMPART_*` variables are errors, except these, which are not settings:")
	for i, name := range nonSettingEnv {
		sep := ","
		if i == len(nonSettingEnv)-1 {
			sep = "."
		}
		fmt.Fprintf(&b, " `%s`%s", name, sep)
	}
	b.WriteString("\n")
	return b.String()
}

// mdEscape keeps a table cell in one cell and its text literal.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`).Replace(s)
}
