package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/blob"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// filesOf is the files service of an instance, storing in its database.
func filesOf(t *testing.T, d *Data) *files.Service {
	t.Helper()
	s, err := files.New(d.DB, d.Keys, d.Audit, nil, blob.NewDatabase(d.DB), d.Now, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRestoredFilesMatchTheirSHA256(t *testing.T) {
	for _, dialect := range testutil.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d, cfg, id := liveInstance(t, dialect)
			o, err := d.CreateOrganization(bctx, "test", "Files Org", "files")
			if err != nil {
				t.Fatal(err)
			}
			body := make([]byte, 3<<20+12345) // several parts
			_, _ = rand.Read(body)
			sum := sha256.Sum256(body)
			f, err := filesOf(t, d).Upload(bctx, ownerOf(o.ID), files.Upload{Name: "scan.bin", Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			info, err := d.CreateBackup(bctx, "test", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir, dbURL := restoreTarget(t, dialect)
			if _, err := RestoreBackup(bctx, cfg, quietLog(), info.ID, []age.Identity{id}, dir, dbURL, nil); err != nil {
				t.Fatal(err)
			}
			r, err := OpenData(bctx, RestoredConfig(cfg, dir, dbURL), quietLog(), MustExist)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			dl, err := filesOf(t, r).Open(bctx, ownerOf(o.ID), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if err := dl.WriteRange(bctx, h, 0, dl.Size); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != hex.EncodeToString(sum[:]) || dl.SHA256 != got {
				t.Fatalf("restored file SHA-256 %s, recorded %s, want %s", got, dl.SHA256, hex.EncodeToString(sum[:]))
			}
		})
	}
}
