package config

import (
	"strings"
	"testing"
)

func TestKYCSettingsAreCheckedTogether(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"embedded needs the service directory", map[string]string{"RAMPART_KYC_MATCHER": "embedded"},
			"kyc.faceservice_dir (RAMPART_KYC_FACESERVICE_DIR): must be set when kyc.matcher is embedded"},
		{"remote needs an endpoint and a key", map[string]string{"RAMPART_KYC_MATCHER": "remote"},
			"kyc.remote_endpoint (RAMPART_KYC_REMOTE_ENDPOINT): must be set when kyc.matcher is remote"},
		{"the endpoint must be https", map[string]string{"RAMPART_KYC_REMOTE_ENDPOINT": "http://face.example.com"},
			"the scheme must be https"},
		{"a threshold is a number in [0, 1]", map[string]string{"RAMPART_KYC_FACE_THRESHOLD": "1.5"},
			`kyc.face_threshold (RAMPART_KYC_FACE_THRESHOLD): "1.5" is not between 0 and 1`},
		{"an unknown matcher", map[string]string{"RAMPART_KYC_MATCHER": "magic"}, "kyc.matcher"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems, err := layers{env: tt.env}.load(t)
			if err == nil || !strings.Contains(strings.Join(problems, "\n"), tt.want) {
				t.Errorf("problems = %q; want one containing %q", problems, tt.want)
			}
		})
	}
}

func TestKYCRemoteKeyIsRedacted(t *testing.T) {
	c := Default()
	c.KYC.RemoteKey = "face-api-key-SECRET"
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "SECRET") {
		t.Errorf("kyc.remote_key printed:\n%s", b.String())
	}
}
