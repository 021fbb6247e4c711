package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/testutil"
)

func TestAdminOrgDelete(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			inst := instance(t, d)
			r := rampart(t, nil, withArgs(inst, "admin", "org", "create", "--name", "Acme", "--slug", "acme", "--json")...)
			var org struct{ ID string }
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &org) != nil {
				t.Fatalf("org create: %d %s %s", r.code, r.stdout, r.stderr)
			}
			r = rampart(t, nil, withArgs(inst, "admin", "org", "delete", "--org", "acme", "--confirm", "acme")...)
			if r.code == 0 || !strings.Contains(r.stderr, "owner of acme must request the deletion first") {
				t.Fatalf("delete without an owner's request: %d %q", r.code, r.stderr)
			}
			// The owner's request, as POST /api/v1/organization/deletion stores it.
			db := openInstanceDB(t, inst)
			tamper(t, db, "INSERT INTO org_deletion_requests (org_id, requested_by, requested_at) VALUES (?, 'user:owner', 1)", org.ID)
			r = rampart(t, nil, withArgs(inst, "admin", "org", "delete", "--org", "acme", "--confirm", "Acme")...)
			if r.code == 0 || !strings.Contains(r.stderr, "confirm") {
				t.Fatalf("wrong confirmation: %d %q", r.code, r.stderr)
			}
			r = rampart(t, nil, withArgs(inst, "admin", "org", "delete", "--org", "acme", "--confirm", "acme", "--json")...)
			var del struct {
				OrgID string           `json:"org_id"`
				Rows  map[string]int64 `json:"rows_deleted"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &del) != nil || del.OrgID != org.ID || del.Rows["org_keysets"] != 1 {
				t.Fatalf("delete: %d %s %s", r.code, r.stdout, r.stderr)
			}
			r = rampart(t, nil, withArgs(inst, "keys", "rotate", "--org", org.ID)...)
			if r.code == 0 {
				t.Fatalf("keys rotate after deletion succeeded: %s", r.stdout)
			}
			if r := rampart(t, nil, withArgs(inst, "audit", "verify")...); r.code != 0 {
				t.Fatalf("audit verify after deletion: %d %s %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}
