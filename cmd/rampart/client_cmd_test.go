package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/store"
)

func TestClientAndSigningKeyCommands(t *testing.T) {
	inst := instance(t, store.SQLite)
	rampart(t, nil, withArgs(inst, "migrate")...)
	rampart(t, nil, withArgs(inst, "admin", "org", "create", "--name", "Beta", "--slug", "beta")...)
	r := rampart(t, nil, withArgs(inst, "admin", "client", "create", "--org", "beta", "--name", "Web app",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "records.read", "--json")...)
	var out struct {
		Client struct {
			ID         string   `json:"id"`
			GrantTypes []string `json:"grant_types"`
		} `json:"client"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 || !strings.HasPrefix(out.Secret, "rcs_") ||
		strings.Join(out.Client.GrantTypes, ",") != "authorization_code,refresh_token" {
		t.Fatalf("client create: %d %s %s (%v)", r.code, r.stdout, r.stderr, err)
	}
	r = rampart(t, nil, withArgs(inst, "admin", "client", "list", "--org", "beta")...)
	if r.code != 0 || !strings.Contains(r.stdout, out.Client.ID) || strings.Contains(r.stdout, out.Secret) {
		t.Fatalf("client list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = rampart(t, nil, withArgs(inst, "admin", "client", "create", "--org", "beta", "--name", "x", "--redirect-uri", "http://evil.example/cb")...)
	if r.code == 0 || !strings.Contains(r.stderr, "http is only allowed for loopback addresses") {
		t.Fatalf("bad redirect URI: %d %s", r.code, r.stderr)
	}
	r = rampart(t, nil, withArgs(inst, "admin", "client", "create", "--org", "beta", "--name", "SPA", "--public", "--grant", "client_credentials")...)
	if r.code == 0 || !strings.Contains(r.stderr, "a public client cannot use client_credentials") {
		t.Fatalf("public client with client_credentials: %d %s", r.code, r.stderr)
	}
	r = rampart(t, nil, withArgs(inst, "admin", "client", "registration-token", "--org", "beta", "--scope", "echo.read", "--json")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"token": "rit_`) {
		t.Fatalf("registration-token: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = rampart(t, nil, withArgs(inst, "admin", "client", "revoke", out.Client.ID)...)
	if r.code != 0 {
		t.Fatalf("client revoke: %d %s", r.code, r.stderr)
	}
	for range 2 {
		r = rampart(t, nil, withArgs(inst, "keys", "rotate-signing", "--json")...)
		if r.code != 0 {
			t.Fatalf("rotate-signing: %d %s", r.code, r.stderr)
		}
	}
	var keys []struct {
		Purpose string `json:"purpose"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil || len(keys) != 4 {
		// Two rotations: per purpose the newest key signs and the one
		// before stays published until its tokens have expired.
		t.Fatalf("published keys after two rotations: %s (%v)", r.stdout, err)
	}
}
