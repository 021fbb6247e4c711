package keys_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func benchManager(b *testing.B) *keys.Manager {
	db := testutil.OpenDB(b, store.SQLite)
	m := newManager(b, db, newRoot(b))
	createOrg(b, db, m, "bench")
	return m
}

// BenchmarkAEADEncryptDecrypt1KiB is one record write plus one read.
func BenchmarkAEADEncryptDecrypt1KiB(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	pt := make([]byte, 1024)
	ad := keys.AssociatedData("records", "body", "0123456789abcdef", "1")
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		ct, err := m.Encrypt(ctx, "bench", pt, ad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Decrypt(ctx, "bench", ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamEncrypt(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	const total = 64 << 20
	b.SetBytes(total)
	for b.Loop() {
		w, err := m.EncryptingWriter(ctx, "bench", io.Discard, nil)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < total; n += len(buf) {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecrypt(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	const total = 64 << 20
	var sealed bytes.Buffer
	w, err := m.EncryptingWriter(ctx, "bench", &sealed, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(make([]byte, total)); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(total)
	for b.Loop() {
		r, err := m.DecryptingReader(ctx, "bench", bytes.NewReader(sealed.Bytes()), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
			b.Fatal(err)
		}
	}
}
