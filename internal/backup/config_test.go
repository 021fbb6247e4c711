package backup_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/config"
)

func TestTargetAndPolicyFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	tg, err := backup.TargetFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := tg.(*backup.DirTarget); !ok || d.String() != filepath.Join(cfg.DataDir, "backups") || !d.SameTreeAs(cfg.DataDir) {
		t.Fatalf("default target = %v", tg)
	}
	cfg.Backup.Target = "s3://bucket/some/prefix/"
	cfg.Backup.S3.Endpoint = "127.0.0.1:9000"
	cfg.Backup.S3.Insecure = true
	tg, err = backup.TargetFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tg.(*backup.S3Target); !ok || tg.String() != "s3://bucket/some/prefix/" {
		t.Fatalf("s3 target = %v", tg)
	}
	if p := backup.PolicyFromConfig(config.Default()); p != backup.DefaultPolicy || p.MinAge != 35*24*time.Hour {
		t.Fatalf("default policy = %+v", p)
	}
}
