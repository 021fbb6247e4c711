package app

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/internal/console"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/httpapi"
	"github.com/rampart-platform/rampart/internal/store"
)

// consoleMounts returns the web console's handlers for the HTTPS mux
// (internal/console): /console/, the site root and the pages that mailed
// links open (/invite, /reset, /bootstrap).
func consoleMounts(d *Data) []httpapi.Mount {
	c := console.New(console.Deps{
		Log:             d.Log,
		Identity:        d.Identity,
		Audit:           d.Audit,
		DB:              d.DB,
		Records:         d.Records,
		Organizations:   consoleOrgs{d},
		Secrets:         d.Secrets,
		OAuth:           d.OIDC,
		SessionLifetime: d.Config.Sessions.Lifetime,
	})
	var mounts []httpapi.Mount
	for _, p := range console.Patterns() {
		mounts = append(mounts, httpapi.Mount{Pattern: p, Handler: c, BodyLimit: console.MaxBody})
	}
	return mounts
}

// consoleOrgs gives the operator pages the CLI's code path for tenants.
type consoleOrgs struct{ d *Data }

var _ console.Organizations = consoleOrgs{}

func (o consoleOrgs) CreateOrganization(ctx context.Context, actor, name, slug string) (console.Organization, error) {
	org, err := o.d.CreateOrganization(ctx, actor, name, slug)
	return console.Organization(org), err
}

func (o consoleOrgs) ListOrganizations(ctx context.Context) ([]console.Organization, error) {
	const op = "app.ListOrganizations"
	var out []console.Organization
	err := o.d.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id, slug, name, created_at FROM organizations ORDER BY created_at, slug")
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		defer rows.Close()
		for rows.Next() {
			var org console.Organization
			var created int64
			if err := rows.Scan(&org.ID, &org.Slug, &org.Name, &created); err != nil {
				return errs.E(errs.Unavailable, op, "database unavailable", err)
			}
			org.CreatedAt = time.UnixMicro(created).UTC()
			out = append(out, org)
		}
		return rows.Err()
	})
	return out, err
}
