package identity

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/store"
)

// The platform organization is where the platform's operators are
// members. It is created by the bootstrap, with a fixed id, so that code
// can recognise its principals without a lookup.
const (
	PlatformOrgID   = "00000000-0000-0000-0000-000000000001"
	PlatformOrgSlug = "platform"
	platformOrgName = "Platform"
)

// BootstrapLink is a freshly issued bootstrap link.
type BootstrapLink struct {
	URL       string    `json:"url"` // <public_url>/bootstrap#token=rpb_...
	ExpiresAt time.Time `json:"expires_at"`
}

// errBootstrapped refuses a second first operator.
func errBootstrapped(op string) error {
	return errs.E(errs.Conflict, op, "this instance already has a platform operator; sign in to the organization \""+
		PlatformOrgSlug+"\", or create another operator with `rampart admin user create --org "+PlatformOrgSlug+"`")
}

// NeedsBootstrap reports whether the instance has no platform operator
// yet, i.e. no member of the platform organization.
// Errors: errs.Unavailable.
func (s *Service) NeedsBootstrap(ctx context.Context) (bool, error) {
	var n int
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		n, err = countOperators(ctx, tx)
		return err
	})
	return n == 0, err
}

func countOperators(ctx context.Context, tx *store.Tx) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE org_id = ?", PlatformOrgID).Scan(&n); err != nil {
		return 0, dbErr("identity.countOperators", err)
	}
	return n, nil
}

// IssueBootstrapLink makes a single-use link, valid for BootstrapTTL, that
// creates the first platform operator; earlier unused links stop working.
// The link is returned, never logged or stored: the caller prints it to
// the operator's terminal. actor is recorded in the audit log.
// Errors: errs.Conflict when an operator already exists; errs.Unavailable.
func (s *Service) IssueBootstrapLink(ctx context.Context, actor string) (BootstrapLink, error) {
	const op = "identity.IssueBootstrapLink"
	token, hash := newToken(prefixBoot)
	now := s.now().UTC().Truncate(time.Microsecond)
	l := BootstrapLink{URL: s.link("bootstrap", token), ExpiresAt: now.Add(BootstrapTTL)}
	err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		n, err := countOperators(ctx, tx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errBootstrapped(op)
		}
		res, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE purpose = ? AND used_at = 0", purposeBootstrap)
		if err != nil {
			return dbErr(op, err)
		}
		replaced, _ := res.RowsAffected()
		if err := s.insertToken(ctx, tx, op, hash, uuid.NewString(), purposeBootstrap, oneTime{
			org: PlatformOrgID, role: authz.RoleOwner, createdBy: actor, created: now.UnixMicro(), expires: l.ExpiresAt.UnixMicro(),
		}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Org: audit.PlatformOrg, Actor: actor, Action: "bootstrap.issue", Target: "org:" + PlatformOrgID,
			Details: map[string]any{"expires_at": l.ExpiresAt.Format(time.RFC3339), "replaced": replaced}})
		return err
	})
	if err != nil {
		return BootstrapLink{}, err
	}
	return l, nil
}

// Bootstrap redeems a bootstrap token: it creates the platform
// organization if it does not exist yet and, in it, the first operator
// with the role owner, consumes the token and signs the operator in.
// Nothing is created unless all of it succeeds.
// Errors: errs.Invalid for an unknown, used or expired token, a bad email
// or a password that breaks the policy (listing every broken rule);
// errs.Conflict when an operator exists already or the slug "platform" is
// taken by a tenant; errs.Unavailable.
func (s *Service) Bootstrap(ctx context.Context, m Meta, token, email, pw string) (Welcome, error) {
	const op = "identity.Bootstrap"
	var st settings
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := s.findToken(ctx, tx, op, purposeBootstrap, prefixBoot, token); err != nil {
			return err
		}
		n, err := countOperators(ctx, tx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errBootstrapped(op)
		}
		st, err = s.loadSettings(ctx, tx, PlatformOrgID)
		return err
	})
	if err != nil {
		return Welcome{}, err
	}
	email, err = normalizeEmail(email)
	if err != nil {
		return Welcome{}, err
	}
	if err := st.Policy.Check(pw, email); err != nil {
		return Welcome{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return Welcome{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	w := Welcome{OrgSlug: PlatformOrgSlug, User: User{ID: uuid.NewString(), OrgID: PlatformOrgID, Email: email, Status: StatusActive,
		Roles: []string{authz.RoleOwner}, CreatedAt: now, PasswordSet: now}}
	actor := "user:" + w.User.ID
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.consumeToken(ctx, tx, op, purposeBootstrap, token, w.User.ID); err != nil {
			return err
		}
		if err := s.ensurePlatformOrg(ctx, tx, op, actor, now); err != nil {
			return err
		}
		// Checked again under the write: two different links (a restart
		// and the CLI) cannot both make a first operator.
		if n, err := countOperators(ctx, tx); err != nil {
			return err
		} else if n > 0 {
			return errBootstrapped(op)
		}
		if err := insertMember(ctx, tx, op, w.User, hash); err != nil {
			return err
		}
		sess, err := s.createSession(ctx, tx, PlatformOrgID, w.User.ID, SessionActive, m)
		if err != nil {
			return err
		}
		w.Session = LoginResult{Token: sess, State: SessionActive}
		for _, e := range []audit.Event{
			{Action: "bootstrap.claim", Target: actor, Details: map[string]any{"roles": w.User.Roles}},
			{Action: "member.create", Target: actor, Details: map[string]any{"roles": w.User.Roles, "via": "bootstrap"}},
		} {
			e.Org, e.Actor, e.Outcome, e.IP, e.UserAgent = PlatformOrgID, actor, audit.Success, m.IP, m.UserAgent
			if _, err := s.audit.Append(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Welcome{}, err
	}
	return w, nil
}

// ensurePlatformOrg creates the platform organization with its keysets
// unless it exists.
func (s *Service) ensurePlatformOrg(ctx context.Context, tx *store.Tx, op, actor string, now time.Time) error {
	var id string
	err := tx.QueryRow(ctx, "SELECT id FROM organizations WHERE id = ? OR slug = ?", PlatformOrgID, PlatformOrgSlug).Scan(&id)
	switch {
	case err == nil && id == PlatformOrgID:
		return nil
	case err == nil:
		return errs.E(errs.Conflict, op, "the slug \""+PlatformOrgSlug+"\" belongs to the tenant organization "+id+
			"; it is reserved for the platform organization: rename that tenant first")
	case !store.IsNoRows(err):
		return dbErr(op, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
		PlatformOrgID, PlatformOrgSlug, platformOrgName, now.UnixMicro()); err != nil {
		return dbErr(op, err)
	}
	if err := s.keys.Create(ctx, tx, PlatformOrgID); err != nil {
		return err
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Org: PlatformOrgID, Actor: actor, Action: "org.create", Target: "org:" + PlatformOrgID,
		Details: map[string]any{"slug": PlatformOrgSlug, "via": "bootstrap"}})
	return err
}

// RequireOperator lets only platform operators through: principals of the
// platform organization with the owner or admin role whose credential
// (session, or API token narrowed to it) holds members.manage. Platform
// operations such as creating organizations check it.
// Errors: errs.Forbidden.
func RequireOperator(ctx context.Context, p authz.Principal) error {
	const op = "identity.RequireOperator"
	if p.OrgID != PlatformOrgID || !hasRole(p.Roles, authz.RoleOwner) && !hasRole(p.Roles, authz.RoleAdmin) {
		return errs.E(errs.Forbidden, op, "only platform operators (owners and admins of the \""+PlatformOrgSlug+"\" organization) may do this")
	}
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return errs.E(errs.Forbidden, op, "this credential lacks members.manage, which platform operations need", err)
	}
	return nil
}
