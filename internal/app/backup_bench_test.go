package app

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/store"
)

// TestBackupFigures measures backup, verify and restore of an instance of
// RAMPART_BACKUP_BENCH_MIB MiB of encrypted files (docs/benchmarks.md).
// It is skipped unless that variable is set:
//
//	RAMPART_BACKUP_BENCH_MIB=1024 go test -run TestBackupFigures -v -timeout 30m ./internal/app/
//	RAMPART_BACKUP_BENCH_DIALECT=postgres ...   # on PostgreSQL
func TestBackupFigures(t *testing.T) {
	mib, _ := strconv.Atoi(os.Getenv("RAMPART_BACKUP_BENCH_MIB"))
	if mib <= 0 {
		t.Skip("set RAMPART_BACKUP_BENCH_MIB to run")
	}
	dialect := store.SQLite
	if os.Getenv("RAMPART_BACKUP_BENCH_DIALECT") == "postgres" {
		dialect = store.Postgres
	}
	d, cfg, id := liveInstance(t, dialect)
	o, err := d.CreateOrganization(bctx, "bench", "Bench", "bench")
	if err != nil {
		t.Fatal(err)
	}
	fs := filesOf(t, d)
	start := time.Now()
	const chunk = 64 << 20
	for left := int64(mib) << 20; left > 0; left -= chunk {
		n := min(left, chunk)
		if _, err := fs.Upload(bctx, ownerOf(o.ID), files.Upload{Name: "blob", Body: io.LimitReader(rand.Reader, n)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("filled %d MiB of files in %s", mib, time.Since(start).Round(time.Millisecond))
	var dbBytes int64
	if dialect == store.SQLite {
		fi, _ := os.Stat(cfg.SQLitePath())
		dbBytes = fi.Size()
	} else {
		_ = d.DB.Read(bctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'").Scan(&dbBytes)
		})
	}
	start = time.Now()
	info, err := d.CreateBackup(bctx, "bench", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	backupTime := time.Since(start)
	start = time.Now()
	if _, err := VerifyBackup(bctx, cfg, quietLog(), d, "bench", info.ID, []age.Identity{id}, nil); err != nil {
		t.Fatal(err)
	}
	verifyTime := time.Since(start)
	dir, dbURL := restoreTarget(t, dialect)
	start = time.Now()
	if _, err := RestoreBackup(bctx, cfg, quietLog(), info.ID, []age.Identity{id}, dir, dbURL, nil); err != nil {
		t.Fatal(err)
	}
	restoreTime := time.Since(start)
	t.Logf("%s: database %.0f MiB; backup %s, archive %.0f MiB; verify %s; restore %s (into %s)",
		dialect, float64(dbBytes)/(1<<20), backupTime.Round(time.Millisecond), float64(info.Size)/(1<<20),
		verifyTime.Round(time.Millisecond), restoreTime.Round(time.Millisecond), filepath.Base(dir))
}
