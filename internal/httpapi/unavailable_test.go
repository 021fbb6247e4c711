package httpapi

import (
	"testing"

	"github.com/rampart-platform/rampart/internal/errs"
)

// TestRoutesOfAMissingDependencyAnswer503: a Deps field left nil makes
// exactly the routes that need it unavailable, each naming what is missing.
func TestRoutesOfAMissingDependencyAnswer503(t *testing.T) {
	a := &api{}
	want := map[string]string{
		"/api/v1/secrets/{id}/reveal":   "the credential vault is not available on this server",
		"/api/v1/files/{id}":            "files are not available on this server",
		"/api/v1/clients":               "the OAuth provider is not available on this server",
		"/api/v1/organization/deletion": "deleting organizations is not available on this server",
		"/api/v1/organizations/{id}":    "deleting organizations is not available on this server",
		"/api/v1/collections/{name}":    "",
		"/api/v1/organizations":         "",
		"/api/v1/kyc/verifications":     "", // checks its own service (400 before 503)
	}
	for path, msg := range want {
		err := a.unavailable(path)
		switch {
		case msg == "" && err != nil:
			t.Errorf("%s: %v, want served", path, err)
		case msg != "" && (errs.KindOf(err) != errs.Unavailable || errs.SafeMessage(err) != msg):
			t.Errorf("%s: %v, want 503 %q", path, err, msg)
		}
	}
}
