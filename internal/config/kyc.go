package config

import (
	"fmt"
	"strconv"
	"strings"
)

// validateKYC checks the rules that tie the kyc.* settings together.
func validateKYC(c *Config, p func(path, format string, args ...any)) {
	switch c.KYC.Matcher {
	case "embedded":
		if c.KYC.FaceServiceDir == "" {
			p("kyc.faceservice_dir", "must be set when kyc.matcher is embedded (the directory of server.js, after npm ci)")
		}
	case "remote":
		if c.KYC.RemoteEndpoint == "" {
			p("kyc.remote_endpoint", "must be set when kyc.matcher is remote")
		}
		if c.KYC.RemoteKey == "" {
			p("kyc.remote_key", "must be set when kyc.matcher is remote")
		}
	}
}

// floatValue is a decimal number within [min, max].
type floatValue struct {
	p        *float64
	min, max float64
}

func (v *floatValue) set(raw []string) string {
	s := strings.Join(raw, ",")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Sprintf("%q is not a number", s)
	}
	if f < v.min || f > v.max {
		return fmt.Sprintf("%q is not between %g and %g", s, v.min, v.max)
	}
	*v.p = f
	return ""
}
func (v *floatValue) String() string   { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v *floatValue) yaml() any        { return *v.p }
func (v *floatValue) typeName() string { return "number" }
func (v *floatValue) field() any       { return v.p }
