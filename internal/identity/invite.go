package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/store"
)

// Invite is a pending invitation to join an organization. Its token is
// never part of it: it exists only in the mail sent to the invitee.
type Invite struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	InvitedBy string    `json:"invited_by"` // the actor, e.g. "user:<id>"
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Welcome is an account that an invitation or the bootstrap link has just
// created, signed in.
type Welcome struct {
	User    User
	OrgSlug string
	Session LoginResult
}

// CreateInvite invites email into the caller's organization with roles
// (default member) and mails the invitee a single-use link,
// <public_url>/invite#token=rpi_..., valid for InviteTTL. The caller needs
// members.manage and must hold every permission of the roles it offers
// (authz.CanGrant): an admin cannot invite an owner. A newer invitation to
// the same address replaces older pending ones.
// Errors: errs.Forbidden; errs.Invalid for a bad address or unknown role;
// errs.Exists when the address is already a member; errs.Unavailable when
// the database or the mail server fails (the invitation is then withdrawn).
func (s *Service) CreateInvite(ctx context.Context, a Authenticated, m Meta, email string, roles []string) (Invite, error) {
	const op = "identity.CreateInvite"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return Invite{}, err
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return Invite{}, err
	}
	roles = dedupe(roles)
	if len(roles) == 0 {
		roles = []string{authz.RoleMember}
	}
	rolesJSON, err := json.Marshal(roles)
	if err != nil {
		return Invite{}, errs.E(op, err)
	}
	token, hash := newToken(prefixInvite)
	now := s.now().UTC().Truncate(time.Microsecond)
	inv := Invite{ID: uuid.NewString(), Email: email, Roles: roles, InvitedBy: actorOf(p), CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	var orgName, orgSlug string
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.checkRoles(ctx, tx, p.OrgID, roles); err != nil {
			return err
		}
		for _, name := range roles {
			r, err := s.resolveRole(ctx, tx, p.OrgID, name)
			if err != nil {
				return err
			}
			if err := authz.CanGrant(pctx, r); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, "SELECT name, slug FROM organizations WHERE id = ?", p.OrgID).Scan(&orgName, &orgSlug); err != nil {
			return dbErr(op, err)
		}
		var members int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE org_id = ? AND email = ?", p.OrgID, email).Scan(&members); err != nil {
			return dbErr(op, err)
		}
		if members > 0 {
			return errs.E(errs.Exists, op, "a member with this email already exists")
		}
		// One live link per address: the newest invitation wins.
		res, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE org_id = ? AND purpose = ? AND email = ? AND used_at = 0",
			p.OrgID, purposeInvite, email)
		if err != nil {
			return dbErr(op, err)
		}
		replaced, _ := res.RowsAffected()
		if err := s.insertToken(ctx, tx, op, hash, inv.ID, purposeInvite, oneTime{
			org: p.OrgID, email: email, role: string(rolesJSON), createdBy: inv.InvitedBy,
			created: now.UnixMicro(), expires: inv.ExpiresAt.UnixMicro(),
		}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "invite.create", "invite:"+inv.ID,
			map[string]any{"email": email, "roles": roles, "expires_at": inv.ExpiresAt.Format(time.RFC3339), "replaced": replaced}))
		return err
	})
	if err != nil {
		return Invite{}, err
	}
	// The mail goes out after the commit, so no write transaction waits on
	// the mail server; when it cannot be sent, the invitation is withdrawn
	// so that no link exists that nobody received.
	inviter := a.Email
	if inviter == "" {
		inviter = "An administrator"
	}
	msg := mail.Message{
		To:      email,
		Subject: "You are invited to join " + oneLine(orgName) + " on Rampart",
		Kind:    "invite",
		Text: fmt.Sprintf("%s invited you to join %s (organization %q) on Rampart as %s.\n\n"+
			"Open the link below within %d days to choose your password and sign in. It works once.\n"+
			"If you did not expect this invitation, ignore this mail.",
			inviter, oneLine(orgName), orgSlug, strings.Join(roles, ", "), int(InviteTTL/(24*time.Hour))),
		SecretURL: s.link("invite", token),
	}
	if err := s.mailer.Send(ctx, msg); err != nil {
		_ = s.write(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE id = ? AND org_id = ? AND purpose = ?", inv.ID, p.OrgID, purposeInvite); err != nil {
				return err
			}
			_, err := s.audit.Append(ctx, tx, audit.Event{Org: p.OrgID, Actor: "system", Action: "invite.revoke", Target: "invite:" + inv.ID,
				Outcome: audit.Success, Details: map[string]any{"reason": "the invitation mail could not be sent"}})
			return err
		})
		if errs.KindOf(err) == errs.Invalid {
			return Invite{}, err // e.g. an address the mail package refuses: the caller can fix it
		}
		return Invite{}, errs.E(errs.Unavailable, op, "the invitation could not be mailed and was withdrawn; try again later", err)
	}
	return inv, nil
}

// ListInvites lists the caller's organization's pending invitations: not
// yet accepted, not expired (members.read). Tokens are never listed.
func (s *Service) ListInvites(ctx context.Context, a Authenticated) ([]Invite, error) {
	const op = "identity.ListInvites"
	p := a.Principal
	if err := authz.Can(authz.WithPrincipal(ctx, p), authz.MembersRead, authz.Resource{OrgID: p.OrgID}); err != nil {
		return nil, err
	}
	out := []Invite{}
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, email, role, created_by, created_at, expires_at FROM one_time_tokens
			WHERE org_id = ? AND purpose = ? AND used_at = 0 AND expires_at > ? ORDER BY created_at, id`, p.OrgID, purposeInvite, s.micros())
		if err != nil {
			return dbErr(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			var inv Invite
			var roles string
			var c, e int64
			if err := rows.Scan(&inv.ID, &inv.Email, &roles, &inv.InvitedBy, &c, &e); err != nil {
				return dbErr(op, err)
			}
			if err := json.Unmarshal([]byte(roles), &inv.Roles); err != nil {
				return errs.E(op, err)
			}
			inv.CreatedAt, inv.ExpiresAt = time.UnixMicro(c).UTC(), time.UnixMicro(e).UTC()
			out = append(out, inv)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeInvite withdraws a pending invitation of the caller's organization
// (members.manage, and the caller must be able to grant its roles: an
// admin cannot cancel an owner's invitation of another owner).
// Errors: errs.NotFound for an unknown, used or other organization's
// invitation; errs.Forbidden; errs.Unavailable.
func (s *Service) RevokeInvite(ctx context.Context, a Authenticated, m Meta, id string) error {
	const op = "identity.RevokeInvite"
	p := a.Principal
	pctx := authz.WithPrincipal(ctx, p)
	if err := authz.Can(pctx, authz.MembersManage, authz.Resource{OrgID: p.OrgID}); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		var rolesJSON, email string
		err := tx.QueryRow(ctx, "SELECT role, email FROM one_time_tokens WHERE id = ? AND org_id = ? AND purpose = ? AND used_at = 0",
			id, p.OrgID, purposeInvite).Scan(&rolesJSON, &email)
		if store.IsNoRows(err) {
			return errs.E(errs.NotFound, op, "no such invitation")
		}
		if err != nil {
			return dbErr(op, err)
		}
		var roles []string
		if err := json.Unmarshal([]byte(rolesJSON), &roles); err != nil {
			return errs.E(op, err)
		}
		for _, name := range roles {
			r, err := s.resolveRole(ctx, tx, p.OrgID, name)
			if errs.KindOf(err) == errs.Invalid {
				continue // a custom role deleted since: it grants nothing
			}
			if err != nil {
				return err
			}
			if err := authz.CanGrant(pctx, r); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM one_time_tokens WHERE id = ? AND org_id = ? AND purpose = ?", id, p.OrgID, purposeInvite); err != nil {
			return dbErr(op, err)
		}
		_, err = s.audit.Append(ctx, tx, event(p, m, "invite.revoke", "invite:"+id, map[string]any{"email": email, "roles": roles}))
		return err
	})
}

// AcceptInvite redeems an invitation token: it creates the invited member
// with the invitation's roles and the password chosen (checked against the
// organization's policy), consumes the token and signs the member in.
// Errors: errs.Invalid for an unknown, used or expired token (each with its
// own message) and for a password that breaks the policy (listing every
// broken rule, see password.Violations); errs.Exists when the address has
// become a member meanwhile; errs.Unavailable.
func (s *Service) AcceptInvite(ctx context.Context, m Meta, token, pw string) (Welcome, error) {
	const op = "identity.AcceptInvite"
	var t oneTime
	var st settings
	var slug string
	// The token is checked before the password is hashed: without a valid
	// invitation, this public endpoint costs no argon2 work.
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if t, err = s.findToken(ctx, tx, op, purposeInvite, prefixInvite, token); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT slug FROM organizations WHERE id = ?", t.org).Scan(&slug); err != nil {
			if store.IsNoRows(err) {
				return errLink(op, purposeInvite, "unknown") // the organization is gone
			}
			return dbErr(op, err)
		}
		st, err = s.loadSettings(ctx, tx, t.org)
		return err
	})
	if err != nil {
		return Welcome{}, err
	}
	var roles []string
	if err := json.Unmarshal([]byte(t.role), &roles); err != nil {
		return Welcome{}, errs.E(op, err)
	}
	if err := st.Policy.Check(pw, t.email); err != nil {
		return Welcome{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return Welcome{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	w := Welcome{OrgSlug: slug, User: User{ID: uuid.NewString(), OrgID: t.org, Email: t.email, Status: StatusActive, Roles: roles, CreatedAt: now, PasswordSet: now}}
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.consumeToken(ctx, tx, op, purposeInvite, token, w.User.ID); err != nil {
			return err
		}
		// A custom role deleted since the invitation fails the acceptance
		// rather than silently giving fewer rights than were offered.
		if err := s.checkRoles(ctx, tx, t.org, roles); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, op, w.User, hash); err != nil {
			return err
		}
		state := SessionActive
		if st.RequireMFA {
			state = SessionEnrol
		}
		sess, err := s.createSession(ctx, tx, t.org, w.User.ID, state, m)
		if err != nil {
			return err
		}
		w.Session = LoginResult{Token: sess, State: state}
		actor := "user:" + w.User.ID
		for _, e := range []audit.Event{
			{Action: "invite.accept", Target: "invite:" + t.id, Details: map[string]any{"user": w.User.ID, "invited_by": t.createdBy, "roles": roles}},
			{Action: "member.create", Target: actor, Details: map[string]any{"roles": roles, "via": "invite:" + t.id}},
		} {
			e.Org, e.Actor, e.Outcome, e.IP, e.UserAgent = t.org, actor, audit.Success, m.IP, m.UserAgent
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

// oneLine keeps a stored display name from adding lines to a mail subject
// or text.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
}
