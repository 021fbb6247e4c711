package apitest

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
	"github.com/rampart-platform/rampart/internal/tombstone"
)

// tombstoneRecorder is a tombstone.Publisher that remembers what it got.
type tombstoneRecorder struct{ got []tombstone.Tombstone }

func (r *tombstoneRecorder) Publish(_ context.Context, t tombstone.Tombstone) error {
	r.got = append(r.got, t)
	return nil
}

// TestOrganizationDeletion proves B3: an owner asks, an operator confirms,
// and afterwards the organization's keys, rows and sessions are gone, a
// copy of its ciphertext can never be decrypted again, and the other
// tenant and the audit log are intact.
func TestOrganizationDeletion(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) { organizationDeletion(t, d) })
	}
}

func organizationDeletion(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	in := start(t, d)
	orgs := seed(t, in)
	acme, globex := orgs["acme"], orgs["globex"]

	owner, member, other := in.client(t), in.client(t), in.client(t)
	owner.login("acme", "owner@acme.test", pw)
	member.login("acme", "member@acme.test", pw)
	other.login("globex", "owner@globex.test", pw)
	for _, c := range []*client{owner, other} {
		c.expect(201, "POST", "/api/v1/collections", map[string]any{"name": "notes", "indexed_fields": []string{"ref"}})
	}
	rec := owner.expect(201, "POST", "/api/v1/collections/notes/records", map[string]any{"title": "acme secret plan", "ref": "A-1"})
	otherRec := other.expect(201, "POST", "/api/v1/collections/notes/records", map[string]any{"title": "globex notes"})
	// A copy of acme's ciphertext, as a backup or a stolen disk would hold it.
	var stolen []byte
	err := in.data.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT body FROM records WHERE org_id = ? AND id = ?", acme.ID, rec.body["id"]).Scan(&stolen)
	})
	if err != nil || len(stolen) == 0 {
		t.Fatalf("reading the ciphertext: %v", err)
	}
	ad := keys.AssociatedData("records", "notes", rec.body["id"].(string), "1")
	if _, err := in.data.Keys.Decrypt(ctx, acme.ID, stolen, ad); err != nil {
		t.Fatalf("the copy must decrypt before the deletion: %v", err)
	}

	operator := bootstrapOperator(t, in)
	confirm := map[string]any{"confirm": "acme"}
	path := "/api/v1/organizations/" + acme.ID

	t.Run("the operator alone cannot delete", func(t *testing.T) {
		r := operator.expect(412, "DELETE", path, confirm)
		if !strings.Contains(r.errMessage(), "owner") {
			t.Fatalf("message should say an owner must ask first: %s", r.raw)
		}
	})
	t.Run("only owners ask, naming the slug", func(t *testing.T) {
		member.expect(403, "POST", "/api/v1/organization/deletion", confirm)
		if r := owner.expect(400, "POST", "/api/v1/organization/deletion", map[string]any{"confirm": "acm"}); !strings.Contains(r.errMessage(), "slug") {
			t.Fatalf("wrong confirmation: %s", r.raw)
		}
		owner.expect(404, "GET", "/api/v1/organization/deletion", nil)
		r := owner.expect(202, "POST", "/api/v1/organization/deletion", confirm)
		if r.body["status"] != "pending_operator_confirmation" || r.body["org_id"] != acme.ID {
			t.Fatalf("request: %s", r.raw)
		}
		owner.expect(409, "POST", "/api/v1/organization/deletion", confirm)
		owner.expect(200, "GET", "/api/v1/organization/deletion", nil)
		owner.expect(204, "DELETE", "/api/v1/organization/deletion", nil)
		owner.expect(404, "GET", "/api/v1/organization/deletion", nil)
		operator.expect(412, "DELETE", path, confirm) // withdrawn
		owner.expect(202, "POST", "/api/v1/organization/deletion", confirm)
	})
	t.Run("tenants cannot confirm, not even their own owner", func(t *testing.T) {
		owner.expect(403, "DELETE", path, confirm)
		other.expect(403, "DELETE", path, confirm)
		operator.expect(400, "DELETE", path, map[string]any{"confirm": "globex"})
		operator.expect(404, "DELETE", "/api/v1/organizations/no-such-org", confirm)
	})

	r := operator.expect(200, "DELETE", path, confirm)
	rows, _ := r.body["rows_deleted"].(map[string]any)
	for _, table := range []string{"users", "records", "org_keysets", "audit_events", "organizations"} {
		if n, _ := rows[table].(float64); n < 1 {
			t.Errorf("rows_deleted[%s] = %v, want at least 1: %s", table, rows[table], r.raw)
		}
	}

	t.Run("nothing of the organization is left but its tombstone", func(t *testing.T) {
		err := in.data.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			left, err := tx.CountOrgRows(ctx, acme.ID)
			if err != nil {
				return err
			}
			if len(left) != 1 || left["org_tombstones"] != 1 {
				t.Errorf("rows left of the deleted organization: %v, want only its tombstone", left)
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE id = ?", acme.ID).Scan(&n); err != nil || n != 0 {
				t.Errorf("organizations row: %d %v", n, err)
			}
			// Rows tied to the users, not the organization, go with them.
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM recovery_codes WHERE user_id NOT IN (SELECT id FROM users)").Scan(&n); err != nil || n != 0 {
				t.Errorf("orphaned recovery codes: %d %v", n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a copy of its ciphertext can never be decrypted", func(t *testing.T) {
		_, err := in.data.Keys.Decrypt(ctx, acme.ID, stolen, ad)
		if errs.KindOf(err) != errs.Shredded {
			t.Fatalf("decrypting a copy after the deletion: %v, want shredded", err)
		}
		err = in.data.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return in.data.Keys.Create(ctx, tx, acme.ID) })
		if errs.KindOf(err) != errs.Shredded {
			t.Fatalf("new keys for a shredded organization: %v, want refused", err)
		}
	})
	t.Run("its sessions and logins are dead", func(t *testing.T) {
		owner.expect(401, "GET", "/api/v1/me", nil)
		member.expect(401, "GET", "/api/v1/collections/notes/records", nil)
		in.client(t).expect(401, "POST", "/api/v1/auth/login", map[string]string{"organization": "acme", "email": "owner@acme.test", "password": pw})
	})
	t.Run("the other tenant is untouched", func(t *testing.T) {
		got := other.expect(200, "GET", "/api/v1/collections/notes/records/"+otherRec.body["id"].(string), nil)
		if got.body["data"].(map[string]any)["title"] != "globex notes" {
			t.Fatalf("globex record: %s", got.raw)
		}
		if _, err := in.data.FindOrganization(ctx, globex.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the audit log verifies and the platform chain records the deletion", func(t *testing.T) {
		rep, err := in.data.Audit.Verify(ctx, in.data.DB, audit.AllOrgs)
		if err != nil || !rep.OK() {
			t.Fatalf("audit verify after the deletion: %+v %v", rep, err)
		}
		found := false
		err = in.data.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
			var n int
			err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND action = 'org.delete' AND target = ?",
				audit.PlatformOrg, "org:"+acme.ID).Scan(&n)
			found = n == 1
			return err
		})
		if err != nil || !found {
			t.Fatalf("platform audit entry for the deletion: found=%v %v", found, err)
		}
		if strings.Contains(in.logs.String(), "acme secret plan") {
			t.Fatal("a record value reached the log")
		}
	})
	t.Run("the platform organization cannot be deleted", func(t *testing.T) {
		r := operator.expect(400, "DELETE", "/api/v1/organizations/platform", map[string]any{"confirm": "platform"})
		if !strings.Contains(r.errMessage(), "platform") {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("the tombstone is published for restores", func(t *testing.T) {
		rec := &tombstoneRecorder{}
		defer func(old tombstone.Publisher) { in.data.Tombstones = old }(in.data.Tombstones)
		in.data.Tombstones = rec
		o, err := in.data.CreateOrganization(ctx, "operator:test", "Initech", "initech")
		if err != nil {
			t.Fatal(err)
		}
		ownerRole, _ := authz.BuiltinRole(authz.RoleOwner)
		p := authz.Principal{UserID: "u-1", OrgID: o.ID, Kind: authz.KindUser, Roles: []authz.Role{ownerRole}}
		if _, err := in.data.RequestOrgDeletion(ctx, p, "initech"); err != nil {
			t.Fatal(err)
		}
		if _, err := in.data.DeleteOrganization(ctx, "cli", "initech", "initech"); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 || rec.got[0].Kind != tombstone.Org || rec.got[0].Org != o.ID {
			t.Fatalf("published: %+v", rec.got)
		}
		if _, err := in.data.FindOrganization(ctx, "initech"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("after deletion: %v", err)
		}
	})
}

// bootstrapOperator claims the instance and returns the first operator's
// signed-in client.
func bootstrapOperator(t *testing.T, in *instance) *client {
	t.Helper()
	link, err := in.data.Identity.IssueBootstrapLink(context.Background(), "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`rpb_[A-Za-z0-9_-]{43}`).FindString(link.URL)
	op := in.client(t)
	op.expect(201, "POST", "/api/v1/bootstrap", map[string]any{"token": token, "email": "root@platform.test", "password": pw})
	return op
}
