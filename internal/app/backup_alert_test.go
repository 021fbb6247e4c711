package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func newAlertServer(t *testing.T, got chan<- string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
