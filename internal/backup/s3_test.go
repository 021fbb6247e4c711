package backup_test

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// fakeS3 is an in-process S3 server on loopback (S3 is a boundary we do
// not own; this is the one fake the suite uses).
func fakeS3(t *testing.T, bucket string) backup.S3Config {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return backup.S3Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1", AccessKey: "test", SecretKey: "test-secret",
		Insecure: true, Bucket: bucket, Prefix: "rampart/prod"}
}

func TestS3TargetBackupListRestore(t *testing.T) {
	tg, err := backup.NewS3Target(fakeS3(t, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, store.SQLite)
	p := f.org(t, "org-a", "Acme")
	rec := f.record(t, p, map[string]any{"k": "v"})
	id := newIdentity(t)
	info, err := backup.Create(ctx, f.src, tg, []age.Recipient{id.Recipient()}, backup.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := backup.List(ctx, tg)
	if err != nil || len(all) != 1 || all[0].ID != info.ID || all[0].Size != info.Size {
		t.Fatalf("list = %+v, %v", all, err)
	}
	if err := backup.NewTargetPublisher(tg).Publish(ctx, tombstone.Tombstone{Kind: tombstone.Org, Org: "org-zzz"}); err != nil {
		t.Fatal(err)
	}
	if ts, err := backup.ReadTombstones(ctx, tg); err != nil || len(ts) != 1 {
		t.Fatalf("tombstones = %v, %v", ts, err)
	}
	res, err := backup.Restore(ctx, tg, info.ID, []age.Identity{id}, restoreOpts(t, f))
	if err != nil {
		t.Fatal(err)
	}
	r := openRestored(t, res)
	if _, err := r.records.Get(ctx, p, "notes", rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Open(ctx, "backups/nope.age"); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("open missing = %v", err)
	}
	if err := tg.Delete(ctx, "backups/"+info.ID+".json"); err != nil {
		t.Fatal(err)
	}
	if all, _ := backup.List(ctx, tg); len(all) != 0 {
		t.Fatalf("a backup without its listing object is listed: %+v", all)
	}
}

func TestS3InsecureOnlyToLoopback(t *testing.T) {
	_, err := backup.NewS3Target(backup.S3Config{Endpoint: "s3.example.com", Insecure: true, Bucket: "b"})
	if errs.KindOf(err) != errs.Invalid {
		t.Fatalf("err = %v", err)
	}
}

func TestS3TargetStreamsALargeObjectInParts(t *testing.T) {
	tg, err := backup.NewS3Target(fakeS3(t, "big"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 17<<20 + 3 // more than one 16 MiB part
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	n, err := tg.Put(ctx, "backups/big.age", bytes.NewReader(body))
	if err != nil || n != size {
		t.Fatalf("put = %d, %v", n, err)
	}
	r, err := tg.Open(ctx, "backups/big.age")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}
