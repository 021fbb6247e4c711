package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/secrets"
)

func TestGatewayInjectsVaultSecretsAsTheCallingClient(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	d, err := OpenData(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), CreateIfMissing)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	org, err := d.CreateOrganization(ctx, "operator:test", "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := authz.BuiltinRole(authz.RoleOwner)
	p := authz.Principal{Kind: authz.KindUser, UserID: "u1", OrgID: org.ID, Roles: []authz.Role{owner}}
	value, _ := json.Marshal("sk_test_123")
	s, err := d.Secrets.Create(authz.WithPrincipal(ctx, p), p, secrets.Spec{Name: "upstream key", Type: secrets.APIKey, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	got, err := vaultSource{d}.UseForGateway(ctx, org.ID, "client-1", s.ID, "gateway:/gw/x/")
	if err != nil || got != "sk_test_123" {
		t.Fatalf("injected %q, %v", got, err)
	}
	// Another organization's client cannot have it injected.
	if _, err := (vaultSource{d}).UseForGateway(ctx, "other-org", "client-2", s.ID, "gateway:/gw/x/"); err == nil {
		t.Fatal("a secret was injected for another organization")
	}
}
