package blob_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/blob/blobtest"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// One suite, run over every store.
func TestStores(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("database", func(t *testing.T) { storeSuite(t, blob.NewDatabase(db)) })
	})
	t.Run("s3", func(t *testing.T) {
		s, err := blob.NewS3(blobtest.FakeS3(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		storeSuite(t, s)
	})
}

func storeSuite(t *testing.T, s blob.Store) {
	ctx := context.Background()
	orgA, orgB := uuid.NewString(), uuid.NewString()
	f1, f2 := uuid.NewString(), uuid.NewString()
	part := func(org, file string, i int64) []byte {
		return bytes.Repeat([]byte(org[:4]+file[:4]), int(i)+1)
	}
	for _, org := range []string{orgA, orgB} {
		for _, f := range []string{f1, f2} {
			for i := range int64(3) {
				if err := s.Put(ctx, org, f, i, part(org, f, i)); err != nil {
					t.Fatalf("put: %v", err)
				}
			}
		}
	}

	t.Run("a part reads back as written, under its own address only", func(t *testing.T) {
		for _, org := range []string{orgA, orgB} {
			for _, f := range []string{f1, f2} {
				for i := range int64(3) {
					got, err := s.Get(ctx, org, f, i)
					if err != nil || !bytes.Equal(got, part(org, f, i)) {
						t.Fatalf("get %s/%s/%d: %q %v", org, f, i, got, err)
					}
				}
			}
		}
	})
	t.Run("a missing part is not found", func(t *testing.T) {
		if _, err := s.Get(ctx, orgA, f1, 3); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("missing part: %v", err)
		}
		if _, err := s.Get(ctx, orgA, uuid.NewString(), 0); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("missing file: %v", err)
		}
	})
	t.Run("put replaces a part", func(t *testing.T) {
		if err := s.Put(ctx, orgA, f1, 0, []byte("replaced")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, orgA, f1, 0); string(got) != "replaced" {
			t.Fatalf("after replace: %q", got)
		}
	})
	t.Run("addresses that could escape their place are refused", func(t *testing.T) {
		for _, c := range []struct{ org, file string }{{"../x", f1}, {orgA, "../" + f1}, {"", f1}, {orgA, "a/b"}} {
			if err := s.Put(ctx, c.org, c.file, 0, []byte("x")); errs.KindOf(err) != errs.Invalid {
				t.Errorf("put %q/%q: %v", c.org, c.file, err)
			}
		}
		if _, err := s.Get(ctx, orgA, f1, -1); errs.KindOf(err) != errs.Invalid {
			t.Errorf("negative index: %v", err)
		}
	})
	t.Run("delete removes one file's parts and nothing else", func(t *testing.T) {
		if err := s.Delete(ctx, orgA, f1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, orgA, f1, 1); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("deleted part: %v", err)
		}
		for _, c := range []struct{ org, file string }{{orgA, f2}, {orgB, f1}} {
			if _, err := s.Get(ctx, c.org, c.file, 2); err != nil {
				t.Fatalf("%s/%s after deleting another file: %v", c.org, c.file, err)
			}
		}
		if err := s.Delete(ctx, orgA, f1); err != nil {
			t.Fatalf("deleting again: %v", err)
		}
	})
	t.Run("deleting an organization removes all of its parts and nothing of another", func(t *testing.T) {
		if err := s.DeleteOrg(ctx, orgA); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, orgA, f2, 0); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("part of a deleted org: %v", err)
		}
		for _, f := range []string{f1, f2} {
			if got, err := s.Get(ctx, orgB, f, 2); err != nil || !bytes.Equal(got, part(orgB, f, 2)) {
				t.Fatalf("other org's part: %v", err)
			}
		}
	})
}

func TestDatabaseDeletesLargeFilesInBatches(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := blob.NewDatabase(db)
		org, f := uuid.NewString(), uuid.NewString()
		for i := range int64(150) {
			if err := s.Put(ctx, org, f, i, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		var n int
		_ = db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM file_chunks").Scan(&n)
		})
		if n != 0 {
			t.Fatalf("%d parts left", n)
		}
	})
}
