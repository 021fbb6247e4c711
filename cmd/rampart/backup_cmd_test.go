package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

func TestBackupCommands(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			inst := instance(t, d)
			targetDir := filepath.Join(t.TempDir(), "backups")
			environ := []string{"RAMPART_BACKUP_TARGET=" + targetDir}
			if r := rampart(t, environ, withArgs(inst, "admin", "org", "create", "--name", "Acme", "--slug", "acme")...); r.code != 0 {
				t.Fatalf("org create: %+v", r)
			}

			r := rampart(t, nil, "backup", "keygen", "--json")
			var kp struct{ Recipient, Identity string }
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &kp) != nil || !strings.HasPrefix(kp.Recipient, "age1") || !strings.HasPrefix(kp.Identity, "AGE-SECRET-KEY-1") {
				t.Fatalf("keygen: %+v", r)
			}
			idFile := filepath.Join(t.TempDir(), "backup.key")
			if err := os.WriteFile(idFile, []byte(kp.Identity+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "create")...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "backup.recipients") || !strings.Contains(r.stderr, "hint: rampart backup keygen") {
				t.Fatalf("create without recipients: %+v", r)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "create", "--recipient", kp.Recipient, "--json")...)
			var created struct {
				ID        string `json:"id"`
				CreatedAt string `json:"created_at"`
				Size      int64  `json:"size"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &created) != nil || created.ID == "" || created.Size == 0 || created.CreatedAt == "" {
				t.Fatalf("create: %+v", r)
			}
			if strings.Contains(r.stderr, "\r") {
				t.Errorf("a progress bar was drawn on a non-terminal: %q", r.stderr)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "list", "--json")...)
			var listed struct {
				Backups []struct {
					ID       string          `json:"id"`
					Verified json.RawMessage `json:"verified"`
				} `json:"backups"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed.Backups) != 1 || listed.Backups[0].ID != created.ID || listed.Backups[0].Verified != nil {
				t.Fatalf("list: %+v", r)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "verify", created.ID, "--identity", idFile)...)
			if r.code != 0 || !strings.Contains(r.stdout, "verified") {
				t.Fatalf("verify: %+v", r)
			}
			r = rampart(t, environ, withArgs(inst, "backup", "list")...)
			if r.code != 0 || !strings.Contains(r.stdout, created.ID) || !strings.Contains(r.stdout, "ok 20") {
				t.Fatalf("list after verify: %+v", r)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "verify", created.ID)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "--identity") {
				t.Fatalf("verify without identity: %+v", r)
			}

			busy := t.TempDir()
			_ = os.WriteFile(filepath.Join(busy, "x"), []byte("x"), 0o600)
			restoreArgs := func(to string) []string {
				a := []string{"restore", created.ID, "--identity", idFile, "--to", to}
				if d == store.Postgres {
					a = append(a, "--to-database-url", testutil.FreshPostgresSchema(t))
				}
				return withArgs(inst, a...)
			}
			r = rampart(t, environ, restoreArgs(busy)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "not empty") {
				t.Fatalf("restore into a non-empty directory: %+v", r)
			}
			to := filepath.Join(t.TempDir(), "restored")
			args := restoreArgs(to)
			r = rampart(t, environ, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "restored backup "+created.ID) {
				t.Fatalf("restore: %+v", r)
			}
			restoredInst := []string{"--data-dir", to}
			if d == store.Postgres {
				restoredInst = append(restoredInst, "--database-url", args[len(args)-1])
			}
			if r := rampart(t, nil, withArgs(restoredInst, "audit", "verify")...); r.code != 0 {
				t.Fatalf("audit verify of the restored instance: %+v", r)
			}
			if r := rampart(t, nil, withArgs(restoredInst, "keys", "status", "--json")...); r.code != 0 || !strings.Contains(r.stdout, `"organizations"`) {
				t.Fatalf("keys status of the restored instance: %+v", r)
			}

			r = rampart(t, environ, withArgs(inst, "dr", "drill", "--identity", idFile, "--json")...)
			var drill struct {
				OK         bool    `json:"ok"`
				BackupID   string  `json:"backup_id"`
				RTOSeconds float64 `json:"rto_seconds"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &drill) != nil || !drill.OK || drill.BackupID != created.ID || drill.RTOSeconds <= 0 {
				t.Fatalf("drill: %+v", r)
			}

			r = rampart(t, environ, withArgs(inst, "backup", "prune", "--json")...)
			if r.code != 0 || !strings.Contains(r.stdout, `"deleted": []`) {
				t.Fatalf("prune: %+v", r)
			}

			// A flipped byte: verify fails with exit 3 and says why.
			archive := filepath.Join(targetDir, "backups", created.ID+".age")
			raw, _ := os.ReadFile(archive)
			raw[len(raw)-40] ^= 0x80
			_ = os.WriteFile(archive, raw, 0o600)
			r = rampart(t, environ, withArgs(inst, "backup", "verify", created.ID, "--identity", idFile)...)
			if r.code != exitTampered || !strings.Contains(r.stderr, "backup archive failed verification") {
				t.Fatalf("verify of a tampered archive: %+v", r)
			}
			if strings.Contains(r.stderr+r.stdout, kp.Identity) {
				t.Error("the identity was printed")
			}
		})
	}
}
