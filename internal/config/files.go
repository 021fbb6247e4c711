package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// validateFiles checks the rules that tie the files.* settings together.
func validateFiles(c *Config, p func(path, format string, args ...any)) {
	s3 := c.Files.S3
	if c.Files.Store == "s3" {
		for _, req := range []struct{ path, value string }{
			{"files.s3.endpoint", s3.Endpoint}, {"files.s3.bucket", s3.Bucket},
			{"files.s3.access_key", s3.AccessKey}, {"files.s3.secret_key", s3.SecretKey},
		} {
			if req.value == "" {
				p(req.path, "must be set when files.store is s3")
			}
		}
	}
	if s3.Insecure && s3.Endpoint != "" && !isLoopbackEndpoint(s3.Endpoint) {
		p("files.s3.insecure", "plain HTTP is only allowed for a loopback files.s3.endpoint (localhost, 127.0.0.1, ::1), not %q", s3.Endpoint)
	}
}

// isLoopbackEndpoint reports whether host[:port] names this machine.
func isLoopbackEndpoint(endpoint string) bool {
	host := endpoint
	if h, _, err := net.SplitHostPort(endpoint); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkBucket accepts an S3 bucket name: 3 to 63 lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit.
func checkBucket(s string) string {
	ok := len(s) >= 3 && len(s) <= 63
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || (c == '.' || c == '-') && i > 0 && i < len(s)-1
	}
	if !ok {
		return fmt.Sprintf("%q is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", s)
	}
	return ""
}

// sizeValue is a byte count, written as a number of bytes or with a unit:
// KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).
// It is printed with the largest binary unit that divides it.
type sizeValue struct {
	p        *int64
	min, max int64
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

func (v *sizeValue) set(raw []string) string {
	s := strings.TrimSpace(strings.Join(raw, ","))
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || (n > 0 && mult > 1 && n > (1<<62)/mult) {
		return fmt.Sprintf("%q is not a size (a number of bytes, or with a unit like 512MiB or 5GiB)", s)
	}
	n *= mult
	if n < v.min {
		return fmt.Sprintf("%q is below the minimum of %s", s, formatSize(v.min))
	}
	if v.max != 0 && n > v.max {
		return fmt.Sprintf("%q is above the maximum of %s", s, formatSize(v.max))
	}
	*v.p = n
	return ""
}

func formatSize(n int64) string {
	for _, u := range sizeUnits[:4] {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (v *sizeValue) String() string   { return formatSize(*v.p) }
func (v *sizeValue) yaml() any        { return formatSize(*v.p) }
func (v *sizeValue) typeName() string { return "size" }
func (v *sizeValue) field() any       { return v.p }
