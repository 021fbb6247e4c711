package app

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/keys"
	"github.com/rampart-platform/rampart/internal/store"
)

// Organization is a tenant.
type Organization struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// CreateOrganization creates a tenant with its own keysets; the
// organization, its keys and the audit entry commit together.
func (d *Data) CreateOrganization(ctx context.Context, actor, name, slug string) (Organization, error) {
	const op = "app.CreateOrganization"
	name = strings.TrimSpace(name)
	var problems []string
	if name == "" || len(name) > 200 {
		problems = append(problems, "name: must be 1 to 200 characters")
	}
	if !slugPattern.MatchString(slug) {
		problems = append(problems, "slug: must be 1 to 63 lowercase letters, digits or inner hyphens")
	}
	if slug == identity.PlatformOrgSlug {
		// The operators' organization, made by the bootstrap.
		problems = append(problems, "slug: \""+slug+"\" is reserved for the platform organization")
	}
	if len(problems) > 0 {
		return Organization{}, errs.E(errs.Invalid, op, strings.Join(problems, "; "))
	}
	org := Organization{ID: uuid.NewString(), Slug: slug, Name: name, CreatedAt: d.Now().UTC().Truncate(time.Microsecond)}
	err := d.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM organizations WHERE slug = ?", slug).Scan(&n); err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		if n > 0 {
			return errs.E(errs.Exists, op, "an organization with slug "+slug+" already exists")
		}
		if _, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
			org.ID, org.Slug, org.Name, org.CreatedAt.UnixMicro()); err != nil {
			return errs.E(errs.Unavailable, op, "cannot store organization", err)
		}
		if err := d.Keys.Create(ctx, tx, org.ID); err != nil {
			return err
		}
		_, err := d.Audit.Append(ctx, tx, audit.Event{Org: org.ID, Actor: actor, Action: "org.create", Target: "org:" + org.ID,
			Details: map[string]any{"slug": slug}})
		return err
	})
	if err != nil {
		return Organization{}, err
	}
	return org, nil
}

// FindOrganization resolves an organization by id or slug.
func (d *Data) FindOrganization(ctx context.Context, idOrSlug string) (Organization, error) {
	const op = "app.FindOrganization"
	var org Organization
	var created int64
	err := d.DB.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, "SELECT id, slug, name, created_at FROM organizations WHERE id = ? OR slug = ?", idOrSlug, idOrSlug).
			Scan(&org.ID, &org.Slug, &org.Name, &created)
		if store.IsNoRows(err) {
			return errs.E(errs.NotFound, op, "no organization with id or slug "+idOrSlug)
		}
		if err != nil {
			return errs.E(errs.Unavailable, op, "database unavailable", err)
		}
		return nil
	})
	org.CreatedAt = time.UnixMicro(created).UTC()
	return org, err
}

// RotateOrganizationKeys gives the organization new primary keys and audits it.
func (d *Data) RotateOrganizationKeys(ctx context.Context, actor, orgID string) (keys.Status, error) {
	var st keys.Status
	err := d.DB.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if st, err = d.Keys.Rotate(ctx, tx, orgID); err != nil {
			return err
		}
		_, err = d.Audit.Append(ctx, tx, audit.Event{Org: orgID, Actor: actor, Action: "keys.rotate", Target: "org:" + orgID,
			Details: map[string]any{"version": st.Version, "primary_key_id": st.PrimaryKeyID}})
		return err
	})
	return st, err
}

// VerifyAudit checks the audit chains (one org, or audit.AllOrgs) and
// records that the check ran and what it found.
func (d *Data) VerifyAudit(ctx context.Context, actor, org string) (audit.Report, error) {
	rep, err := d.Audit.Verify(ctx, d.DB, org)
	if err != nil {
		return rep, err
	}
	outcome := audit.Success
	if !rep.OK() {
		outcome = audit.Failure
	}
	err = d.Audit.Record(ctx, d.DB, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "audit.verify", Outcome: outcome,
		Details: map[string]any{"scope": org, "chains": rep.Chains, "entries": rep.Entries, "problems": len(rep.Problems)}})
	return rep, err
}
