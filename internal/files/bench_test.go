package files_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/blob/blobtest"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// Throughput of the domain service alone (no HTTP, no TLS), with the
// default 1 MiB parts, a 64 MiB file per operation:
//
//	go test ./internal/files -run '^$' -bench . -benchtime 5x
func BenchmarkFiles(b *testing.B) {
	const size = 64 << 20
	data := randomBytes(size, 1)
	for _, c := range []struct {
		name    string
		dialect store.Dialect
		s3      bool
	}{{"sqlite", store.SQLite, false}, {"postgres", store.Postgres, false}, {"s3", store.SQLite, true}} {
		b.Run(c.name, func(b *testing.B) {
			db := testutil.OpenDB(b, c.dialect)
			var target blob.Store
			if c.s3 {
				s3, err := blob.NewS3(blobtest.FakeS3(b))
				if err != nil {
					b.Fatal(err)
				}
				target = s3
			}
			e := newEnvParts(b, db, target, files.DefaultMaxSize, benchPartSize)
			var id string
			b.Run("upload", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					f, err := e.svc.Upload(ctx, e.a, files.Upload{Name: "bench.bin", Body: bytes.NewReader(data)})
					if err != nil {
						b.Fatal(err)
					}
					id = f.ID
				}
			})
			b.Run("download", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					d, err := e.svc.Open(ctx, e.a, id)
					if err != nil {
						b.Fatal(err)
					}
					if err := d.WriteRange(ctx, io.Discard, 0, d.Size); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

var benchPartSize = files.DefaultPartSize
