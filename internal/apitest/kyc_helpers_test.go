package apitest

import (
	"context"
	"testing"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/kyc"
)

// openTestKYC builds a second verification service on the instance's data,
// as `rampart kyc-service` does in its own process.
func openTestKYC(t *testing.T, in *instance) (*kyc.Service, func(), error) {
	t.Helper()
	return app.OpenKYC(context.Background(), in.data)
}
