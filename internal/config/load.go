package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/rampart-platform/rampart/internal/errs"
)

// Sources are where Load reads settings from. Tests inject them so that they
// never touch the process environment.
type Sources struct {
	// Flags is the parsed command line; nil means no flags. Only flags whose
	// Changed is set override; --config names the file.
	Flags *pflag.FlagSet
	// LookupEnv reads one variable. When both LookupEnv and Environ are nil,
	// the process environment is used; when only LookupEnv is nil, it is
	// answered from Environ.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment as "NAME=value" entries, used to find
	// unknown RAMPART_* variables. When it is nil but LookupEnv is not, that
	// check is skipped: the two must describe the same environment.
	Environ func() []string
}

// EnvConfig is the environment variable naming the config file when
// --config is not given.
const EnvConfig = "RAMPART_CONFIG"

// flagConfig is the flag naming the config file.
const flagConfig = "config"

// maxFileSize bounds the config file Load reads; a larger file is refused
// rather than parsed.
const maxFileSize = 1 << 20

// nonSettingEnv lists RAMPART_* environment variables that are not settings
// but that Load must not report as unknown: the config file path and the
// variables other parts of Rampart read themselves. An entry ending in "*"
// is a prefix. Keep it short: every entry is a name a typo can hide behind.
var nonSettingEnv = []string{
	EnvConfig,             // config file path, when --config is not given
	"RAMPART_TEST_*",      // test harness switches (e.g. a PostgreSQL DSN for store tests)
	"RAMPART_BOOTSTRAP_*", // first-run bootstrap (initial admin), read by the bootstrap command
}

func isNonSettingEnv(name string) bool {
	for _, pattern := range nonSettingEnv {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if name == pattern {
			return true
		}
	}
	return false
}

// Load builds the configuration from defaults, the config file, the
// environment and the flags, in that order, and validates the result. The
// error, of kind errs.Invalid, lists every problem found, one per line; its
// message is safe to show (secrets are redacted). Load reads the config file
// and nothing else from disk, and writes nothing.
func Load(src Sources) (Config, error) {
	c := Default()
	l := newLoader(&c)
	lookup, environ := src.env()

	if path, from := configPath(src.Flags, lookup); path != "" {
		l.loadFile(path, from)
	}
	l.loadEnv(lookup, environ)
	l.loadFlags(src.Flags)
	l.validate()

	if len(l.problems) > 0 {
		return Config{}, errs.E(errs.Invalid, "config.Load", l.report())
	}
	return c, nil
}

// env resolves the environment sources as documented on Sources.
func (src Sources) env() (lookup func(string) (string, bool), environ func() []string) {
	lookup, environ = src.LookupEnv, src.Environ
	switch {
	case lookup == nil && environ == nil:
		return os.LookupEnv, os.Environ
	case lookup == nil:
		return lookupIn(environ()), environ
	case environ == nil:
		return lookup, func() []string { return nil }
	}
	return lookup, environ
}

// lookupIn answers lookups from "NAME=value" entries; the first entry of a
// name wins, as with os.Getenv on Unix.
func lookupIn(environ []string) func(string) (string, bool) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok {
			if _, dup := m[name]; !dup {
				m[name] = v
			}
		}
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// configPath returns the config file path and how it was given: --config if
// set on the command line, else RAMPART_CONFIG.
func configPath(flags *pflag.FlagSet, lookup func(string) (string, bool)) (path, from string) {
	if flags != nil {
		if f := flags.Lookup(flagConfig); f != nil && f.Changed {
			raw := append([]string{""}, flagRaw(f)...)
			return raw[len(raw)-1], "--" + flagConfig
		}
	}
	if p, ok := lookup(EnvConfig); ok {
		return p, EnvConfig
	}
	return "", ""
}

// loader applies layers to one Config and collects problems in order.
type loader struct {
	cfg      *Config
	table    []setting
	byPath   map[string]*setting
	byEnv    map[string]*setting
	sections map[string][]string // "tls" -> ["tls.cert_file", ..., "tls.acme"]
	problems []string
	seen     map[string]bool // problems already reported, to drop repeats
	dropped  int             // problems past maxProblems, counted only
}

// maxProblems bounds the report: the wrong file (say, a large unrelated YAML
// document) would otherwise give one line per key.
const maxProblems = 100

func newLoader(c *Config) *loader {
	l := &loader{
		cfg:      c,
		table:    table(c),
		byPath:   map[string]*setting{},
		byEnv:    map[string]*setting{},
		sections: map[string][]string{},
		seen:     map[string]bool{},
	}
	for i := range l.table {
		s := &l.table[i]
		l.byPath[s.path] = s
		l.byEnv[s.env] = s
		child := s.path
		for {
			i := strings.LastIndexByte(child, '.')
			if i < 0 {
				break
			}
			parent := child[:i]
			if !slices.Contains(l.sections[parent], child) {
				l.sections[parent] = append(l.sections[parent], child)
			}
			child = parent
		}
	}
	return l
}

func (l *loader) problem(format string, args ...any) {
	if len(l.problems) >= maxProblems {
		l.dropped++
		return
	}
	p := fmt.Sprintf(format, args...)
	if !l.seen[p] {
		l.seen[p] = true
		l.problems = append(l.problems, p)
	}
}

// set parses raw into s, reporting a problem after prefix (a file location,
// or "") and the setting's label.
func (l *loader) set(s *setting, raw []string, prefix string) {
	if problem := s.val.set(raw); problem != "" {
		l.problem("%s%s: %s", prefix, s.label(), problem)
	}
}

// loadFile reads and applies the YAML file. from says how the path was given
// ("--config" or "RAMPART_CONFIG") for the error when it cannot be read.
func (l *loader) loadFile(path, from string) {
	data, err := readLimited(path)
	if err != nil {
		l.problem("config file %s (%s): cannot be read: %s", path, from, err)
		return
	}
	loc := func(line int) string { return fmt.Sprintf("config file %s: line %d: ", path, line) }

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			l.problem("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return // an empty file sets nothing
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.problem("%sonly one YAML document is allowed", loc(extra.Line))
		return
	} else if !errors.Is(err, io.EOF) {
		l.problem("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	switch {
	case root.Kind == yaml.MappingNode:
		l.walk(root, "", loc)
	case isNull(root):
	default:
		l.problem("%sthe file must be a mapping of settings, found %s", loc(root.Line), kindName(root))
	}
}

// readLimited reads at most maxFileSize bytes of path. The error is the
// cause without the path, which the caller already names.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than the limit of %d bytes", maxFileSize)
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// walk applies one YAML mapping whose keys are under prefix. Sections
// descend, settings take a value, anything else is unknown.
func (l *loader) walk(m *yaml.Node, prefix string, loc func(int) string) {
	first := map[string]int{} // key -> line of its first occurrence
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.problem("%ssetting names must be plain words, found %s", loc(k.Line), kindName(k))
			continue
		}
		name := k.Value
		if prefix != "" {
			name = prefix + "." + name
		}
		if line, dup := first[k.Value]; dup {
			l.problem("%s%q is set twice (first on line %d)", loc(k.Line), name, line)
			continue
		}
		first[k.Value] = k.Line

		if s, ok := l.byPath[name]; ok {
			if raw, problem := l.scalars(s, v); problem != "" {
				l.problem("%s%s: %s", loc(k.Line), s.label(), problem)
			} else {
				l.set(s, raw, loc(k.Line))
			}
			continue
		}
		if children, ok := l.sections[name]; ok {
			switch {
			case v.Kind == yaml.MappingNode:
				l.walk(v, name, loc)
			case isNull(v): // a section with every setting commented out
			default:
				l.problem("%s%q is a group of settings (%s), not a value; found %s",
					loc(k.Line), name, strings.Join(children, ", "), kindName(v))
			}
			continue
		}
		l.problem("%sunknown setting %q", loc(k.Line), name)
	}
}

// scalars turns the YAML value of setting s into raw strings: a scalar gives
// one (null gives ""), and for a list setting a sequence of scalars gives one
// each. The scalar's text is used as written, so YAML's own typing (on, 0x10,
// 1_000) never changes what the setting's parser sees.
func (l *loader) scalars(s *setting, v *yaml.Node) (raw []string, problem string) {
	_, isList := s.val.(*listValue)
	v = unalias(v)
	switch {
	case v.Kind == yaml.ScalarNode:
		if isNull(v) {
			return []string{""}, ""
		}
		return []string{v.Value}, ""
	case v.Kind == yaml.SequenceNode && isList:
		raw = []string{}
		for _, item := range v.Content {
			item = unalias(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return nil, "list items must be single values, found " + kindName(item)
			}
			raw = append(raw, item.Value)
		}
		return raw, ""
	case isList:
		return nil, "expected a value or a list of values, found " + kindName(v)
	default:
		return nil, "expected a single value, found " + kindName(v)
	}
}

// unalias follows an alias to a scalar. Aliases of collections are left as
// they are and refused by the caller: an anchor may contain its own alias,
// and following those is how parsers are made to loop.
func unalias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.ScalarNode {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias of a mapping or list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "an empty value"
		}
		return fmt.Sprintf("the value %q", n.Value)
	default:
		return "a document"
	}
}

// loadEnv applies RAMPART_* variables in table order, then reports unknown
// ones in name order.
func (l *loader) loadEnv(lookup func(string) (string, bool), environ func() []string) {
	for i := range l.table {
		s := &l.table[i]
		if v, ok := lookup(s.env); ok {
			l.set(s, []string{v}, "")
		}
	}
	var unknown []string
	for _, kv := range environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RAMPART_") && l.byEnv[name] == nil && !isNonSettingEnv(name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		l.problem("%s: unknown setting", name)
	}
}

// loadFlags applies the flags given on the command line, in table order.
func (l *loader) loadFlags(flags *pflag.FlagSet) {
	if flags == nil {
		return
	}
	for i := range l.table {
		s := &l.table[i]
		if s.flag == "" {
			continue
		}
		if f := flags.Lookup(s.flag); f != nil && f.Changed {
			l.set(s, flagRaw(f), "")
		}
	}
}

// validate checks the rules that tie settings together, on the final values.
func (l *loader) validate() {
	c := l.cfg
	p := func(path, format string, args ...any) {
		l.problem("%s: %s", l.byPath[path].label(), fmt.Sprintf(format, args...))
	}
	switch {
	case c.TLS.CertFile != "" && c.TLS.KeyFile == "":
		p("tls.key_file", "must be set when tls.cert_file is set")
	case c.TLS.KeyFile != "" && c.TLS.CertFile == "":
		p("tls.cert_file", "must be set when tls.key_file is set")
	}
	if len(c.TLS.ACME.Domains) > 0 && (c.TLS.CertFile != "" || c.TLS.KeyFile != "") {
		p("tls.acme.domains", "cannot be combined with tls.cert_file and tls.key_file; use ACME or certificate files, not both")
	}
	if c.Listen.HTTP != ListenOff && sameListenAddr(c.Listen.HTTP, c.Listen.HTTPS) {
		p("listen.http", "%q is the same address as listen.https", c.Listen.HTTP)
	}
	validateFiles(c, p)
	validateKYC(c, p)
}

// report is the error message: one line for a single problem (so a start-up
// failure reads as one line naming the setting), otherwise a header with the
// count and one problem a line.
func (l *loader) report() string {
	total := len(l.problems) + l.dropped
	if total == 1 {
		return "invalid configuration: " + l.problems[0]
	}
	n := strconv.Itoa(total) + " problems"
	lines := append([]string{"invalid configuration (" + n + "):"}, l.problems...)
	if l.dropped > 0 {
		lines = append(lines, fmt.Sprintf("... and %d more not shown", l.dropped))
	}
	return strings.Join(lines, "\n")
}

// sameListenAddr reports whether two listener addresses would collide: the
// same host and the same non-zero port (port 0 picks a free port each time).
func sameListenAddr(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa != "0" && pa == pb && ha == hb
}
