package config

import (
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
)

func TestFilesSettings(t *testing.T) {
	load := func(env map[string]string) (Config, error) {
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		return Load(Sources{Environ: func() []string { return environ }})
	}
	t.Run("sizes are bytes or a number with a unit", func(t *testing.T) {
		for raw, want := range map[string]int64{"1048576": 1 << 20, "512MiB": 512 << 20, "5GiB": 5 << 30, "2 GB": 2e9, "100KB": 100e3, "7B": 7} {
			c, err := load(map[string]string{"RAMPART_FILES_MAX_SIZE": raw})
			if err != nil || c.Files.MaxSize != want {
				t.Errorf("%q: %d %v, want %d", raw, c.Files.MaxSize, err, want)
			}
		}
	})
	tests := []struct {
		name string
		env  map[string]string
		want string // the exact problem
	}{
		{"a size without a number", map[string]string{"RAMPART_FILES_MAX_SIZE": "big"},
			`invalid configuration: files.max_size (RAMPART_FILES_MAX_SIZE): "big" is not a size (a number of bytes, or with a unit like 512MiB or 5GiB)`},
		{"a size of zero", map[string]string{"RAMPART_FILES_MAX_SIZE": "0"},
			`invalid configuration: files.max_size (RAMPART_FILES_MAX_SIZE): "0" is below the minimum of 1`},
		{"a size above 1 TiB", map[string]string{"RAMPART_FILES_MAX_SIZE": "2TiB"},
			`invalid configuration: files.max_size (RAMPART_FILES_MAX_SIZE): "2TiB" is above the maximum of 1TiB`},
		{"an unknown store", map[string]string{"RAMPART_FILES_STORE": "disk"},
			`invalid configuration: files.store (RAMPART_FILES_STORE): "disk" is not one of: database, s3`},
		{"a bad bucket name", map[string]string{"RAMPART_FILES_S3_BUCKET": "My_Bucket"},
			`invalid configuration: files.s3.bucket (RAMPART_FILES_S3_BUCKET): "My_Bucket" is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`},
		{"plain HTTP to a remote endpoint", map[string]string{"RAMPART_FILES_S3_ENDPOINT": "s3.example.com", "RAMPART_FILES_S3_INSECURE": "true"},
			`invalid configuration: files.s3.insecure (RAMPART_FILES_S3_INSECURE): plain HTTP is only allowed for a loopback files.s3.endpoint (localhost, 127.0.0.1, ::1), not "s3.example.com"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(tc.env)
			if err == nil || errs.SafeMessage(err) != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
	t.Run("s3 needs every connection setting, each named", func(t *testing.T) {
		_, err := load(map[string]string{"RAMPART_FILES_STORE": "s3", "RAMPART_FILES_S3_SECRET_KEY": "do-not-print-me"})
		if err == nil {
			t.Fatal("accepted")
		}
		for _, want := range []string{
			"files.s3.endpoint (RAMPART_FILES_S3_ENDPOINT): must be set when files.store is s3",
			"files.s3.bucket (RAMPART_FILES_S3_BUCKET): must be set when files.store is s3",
			"files.s3.access_key (RAMPART_FILES_S3_ACCESS_KEY): must be set when files.store is s3",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v\nlacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "secret_key") || strings.Contains(err.Error(), "do-not-print-me") {
			t.Errorf("%v", err)
		}
	})
}
