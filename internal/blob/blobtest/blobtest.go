// Package blobtest runs an in-process S3-compatible server (gofakes3) for
// tests: S3 is a boundary Rampart does not own, so this is the one fake the
// test suites use. Only test code imports this package.
package blobtest

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rampart-platform/rampart/internal/blob"
)

// Bucket is the bucket FakeS3 creates.
const Bucket = "rampart-test"

// FakeS3 starts an S3 server with an empty bucket until the test ends and
// returns the configuration that reaches it.
func FakeS3(t testing.TB) blob.S3Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return blob.S3Config{
		Endpoint:  srv.Listener.Addr().String(),
		Bucket:    Bucket,
		Region:    "us-east-1",
		AccessKey: "test-access-key",
		SecretKey: "test-secret-key",
		Insecure:  true,
	}
}
