package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/testutil"
)

var bootstrapLine = regexp.MustCompile(`^Bootstrap: open https://id\.example\.com/bootstrap#token=(rpb_[A-Za-z0-9_-]{43}) within 1 hour to create the first operator account\n$`)

func TestAdminBootstrapPrintsAFreshLinkUntilAnOperatorExists(t *testing.T) {
	for _, d := range testutil.Dialects {
		t.Run(string(d), func(t *testing.T) {
			data := withArgs(instance(t, d), "--public-url", "https://id.example.com")
			first := rampart(t, nil, withArgs(data, "admin", "bootstrap")...)
			m1 := bootstrapLine.FindStringSubmatch(first.stdout)
			if first.code != 0 || m1 == nil {
				t.Fatalf("admin bootstrap: exit %d\nstdout: %q\nstderr: %s", first.code, first.stdout, first.stderr)
			}
			if strings.Contains(first.stderr, m1[1]) || strings.Contains(first.stderr, "rpb_") {
				t.Fatalf("the token reached the log: %s", first.stderr)
			}
			second := rampart(t, nil, withArgs(data, "admin", "bootstrap", "--json")...)
			var l struct {
				URL       string `json:"url"`
				ExpiresAt string `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(second.stdout), &l); second.code != 0 || err != nil || l.ExpiresAt == "" ||
				!strings.HasPrefix(l.URL, "https://id.example.com/bootstrap#token=rpb_") || strings.Contains(l.URL, m1[1]) {
				t.Fatalf("admin bootstrap --json: exit %d, %q, %v", second.code, second.stdout, err)
			}

			// Claim it, as POST /api/v1/bootstrap does; then no more links.
			cfg := config.Default()
			for i := 0; i+1 < len(data); i += 2 {
				switch data[i] {
				case "--data-dir":
					cfg.DataDir = data[i+1]
				case "--database-url":
					cfg.DatabaseURL = data[i+1]
				}
			}
			ctx := context.Background()
			d, err := app.OpenData(ctx, cfg, slog.New(slog.DiscardHandler), app.MustExist)
			if err != nil {
				t.Fatal(err)
			}
			token := strings.TrimPrefix(l.URL, "https://id.example.com/bootstrap#token=")
			if _, err := d.Identity.Bootstrap(ctx, identity.Meta{}, token, "op@platform.test", "correct horse battery staple"); err != nil {
				t.Fatal(err)
			}
			_ = d.Close()
			third := rampart(t, nil, withArgs(data, "admin", "bootstrap")...)
			if third.code != 1 || third.stdout != "" || !strings.Contains(third.stderr, "already has a platform operator") ||
				!strings.Contains(third.stderr, "hint: rampart admin user create --org platform") {
				t.Fatalf("admin bootstrap with an operator: exit %d\nstdout: %q\nstderr: %s", third.code, third.stdout, third.stderr)
			}
		})
	}
}
