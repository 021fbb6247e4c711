package config

import (
	"strings"

	"github.com/spf13/pflag"
)

// RegisterFlags adds --config and a flag for every setting that has one and
// belongs to one of groups (all groups when none are given). Flags keep the
// raw text they are given; Load parses it, so a bad flag is reported in the
// same words, and together with every other problem, as a bad file or
// environment value. Calling it again on the same FlagSet adds only what is
// missing.
func RegisterFlags(fs *pflag.FlagSet, groups ...Group) {
	addFlag(fs, &pflag.Flag{
		Name:  flagConfig,
		Usage: "read settings from this YAML `file` (or set " + EnvConfig + ")",
		Value: &flagValue{typ: "file"},
	})
	d := Default()
	for _, s := range table(&d) {
		if s.flag == "" || len(groups) > 0 && !containsGroup(groups, s.group) {
			continue
		}
		_, list := s.val.(*listValue)
		usage := s.usage + " (" + s.env + ")"
		if s.secret {
			usage += " (secret: prefer the environment or the file, since flags show in process listings)"
		}
		addFlag(fs, &pflag.Flag{
			Name:  s.flag,
			Usage: usage,
			Value: &flagValue{def: s.val.String(), typ: s.val.typeName(), list: list},
		})
	}
}

func containsGroup(groups []Group, g Group) bool {
	for _, x := range groups {
		if x == g {
			return true
		}
	}
	return false
}

// addFlag adds f unless fs already has a flag of that name registered by
// RegisterFlags; a clash with anyone else's flag panics in pflag, as it
// should for a programming error.
func addFlag(fs *pflag.FlagSet, f *pflag.Flag) {
	if old := fs.Lookup(f.Name); old != nil {
		if _, ours := old.Value.(*flagValue); ours {
			return
		}
	}
	f.DefValue = f.Value.String()
	fs.AddFlag(f)
}

// flagValue records the raw arguments of a flag. A list flag keeps every
// occurrence; any other keeps the last.
type flagValue struct {
	raw  []string
	def  string // shown in help as the default
	typ  string
	list bool
}

func (v *flagValue) String() string {
	if len(v.raw) == 0 {
		return v.def
	}
	return strings.Join(v.raw, ",")
}

func (v *flagValue) Set(s string) error {
	if v.list {
		v.raw = append(v.raw, s)
	} else {
		v.raw = []string{s}
	}
	return nil
}

func (v *flagValue) Type() string { return v.typ }

// flagRaw returns a changed flag's raw arguments. Flags registered by
// someone other than RegisterFlags are read through their String or, for
// slice flags, GetSlice.
func flagRaw(f *pflag.Flag) []string {
	switch v := f.Value.(type) {
	case *flagValue:
		if len(v.raw) == 0 {
			return []string{""}
		}
		return v.raw
	case pflag.SliceValue:
		return v.GetSlice()
	default:
		return []string{v.String()}
	}
}
