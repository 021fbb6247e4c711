package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/mail"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/store"
	"github.com/rampart-platform/rampart/internal/testutil"
)

// mailbox is a mail.Sender that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
	fail error // returned by Send when set
}

var _ mail.Sender = (*mailbox)(nil)

func (b *mailbox) Send(_ context.Context, m mail.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.msgs = append(b.msgs, m)
	return nil
}

// take returns and forgets the messages received so far.
func (b *mailbox) take() []mail.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.msgs
	b.msgs = nil
	return out
}

// onlyMail returns the one message received, to whom it was addressed.
func (e *env) onlyMail(t *testing.T, to, page, prefix string) string {
	t.Helper()
	e.svc.WaitForMail()
	msgs := e.mail.take()
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want 1: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	if m.To != to {
		t.Fatalf("mail to %q, want %q", m.To, to)
	}
	token, ok := strings.CutPrefix(m.SecretURL, "https://rampart.test/"+page+"#token=")
	if !ok || !strings.HasPrefix(token, prefix) {
		t.Fatalf("link %q is not https://rampart.test/%s#token=%s...", m.SecretURL, page, prefix)
	}
	if strings.Contains(m.Text, token) || strings.Contains(m.Subject, token) {
		t.Fatal("the token is in the mail's text or subject, not only in its link")
	}
	return token
}

func TestInviteAcceptAndLogin(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		owner := e.session(t, "acme", "owner@acme.test")
		m := identity.Meta{IP: "203.0.113.9"}

		inv, err := e.svc.CreateInvite(ctx, owner, m, " New@Acme.test ", []string{authz.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if inv.Email != "new@acme.test" || !inv.ExpiresAt.Equal(e.clock.now().Add(7*24*time.Hour)) || len(inv.Roles) != 1 || inv.Roles[0] != authz.RoleAdmin {
			t.Fatalf("invite: %+v", inv)
		}
		token := e.onlyMail(t, "new@acme.test", "invite", "rpi_")
		list, err := e.svc.ListInvites(ctx, owner)
		if err != nil || len(list) != 1 || list[0].ID != inv.ID || list[0].InvitedBy != "user:"+owner.Principal.UserID {
			t.Fatalf("ListInvites: %+v %v", list, err)
		}

		_, err = e.svc.AcceptInvite(ctx, m, token, "new")
		if errs.KindOf(err) != errs.Invalid || len(password.Violations(err)) < 2 {
			t.Fatalf("weak password: %v (violations %v)", err, password.Violations(err))
		}
		w, err := e.svc.AcceptInvite(ctx, m, token, goodPassword)
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		if w.OrgSlug != "acme" || w.User.Email != "new@acme.test" || w.Session.State != identity.SessionActive {
			t.Fatalf("welcome: %+v", w)
		}
		a, err := e.svc.AuthenticateSession(ctx, w.Session.Token)
		if err != nil || a.Principal.OrgID != e.orgs["acme"] || len(a.Principal.Roles) != 1 || a.Principal.Roles[0].Name != authz.RoleAdmin {
			t.Fatalf("session after accepting: %+v %v", a, err)
		}
		if _, err := e.login(t, "acme", "new@acme.test", goodPassword); err != nil {
			t.Fatalf("login after accepting: %v", err)
		}
		if list, _ := e.svc.ListInvites(ctx, owner); len(list) != 0 {
			t.Fatalf("accepted invitation still pending: %+v", list)
		}

		_, err = e.svc.AcceptInvite(ctx, m, token, goodPassword+"!")
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "already been used") {
			t.Fatalf("second accept: %v", err)
		}
		unknown := "rpi_" + strings.Repeat("A", 43)
		for _, tok := range []string{unknown, "rpi_short", "rpr_" + strings.Repeat("A", 43), ""} {
			_, err = e.svc.AcceptInvite(ctx, m, tok, goodPassword)
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "is not valid") {
				t.Fatalf("token %q: %v", tok, err)
			}
		}
		// invite.create, invite.accept, and member.create for the owner and
		// for the invitee.
		if n := countAudit(t, db, e.orgs["acme"], "invite.create", "invite.accept", "member.create"); n != 4 {
			t.Fatalf("%d audit entries, want 4", n)
		}
	})
}

func TestExpiredInviteCannotBeAccepted(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		owner := e.session(t, "acme", "owner@acme.test")
		if _, err := e.svc.CreateInvite(ctx, owner, identity.Meta{}, "late@acme.test", nil); err != nil {
			t.Fatal(err)
		}
		token := e.onlyMail(t, "late@acme.test", "invite", "rpi_")
		e.clock.add(7*24*time.Hour + time.Second)
		_, err := e.svc.AcceptInvite(ctx, identity.Meta{}, token, goodPassword)
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.SafeMessage(err), "expired") {
			t.Fatalf("expired invitation: %v", err)
		}
		owner = e.session(t, "acme", "owner@acme.test")
		if list, _ := e.svc.ListInvites(ctx, owner); len(list) != 0 {
			t.Fatalf("expired invitation listed: %+v", list)
		}
	})
}

func TestInvitesCannotRaiseRights(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		e.user(t, "acme", "admin@acme.test", authz.RoleAdmin)
		e.user(t, "acme", "member@acme.test", authz.RoleMember)
		owner := e.session(t, "acme", "owner@acme.test")
		admin := e.session(t, "acme", "admin@acme.test")
		member := e.session(t, "acme", "member@acme.test")

		if _, err := e.svc.CreateInvite(ctx, admin, identity.Meta{}, "boss@acme.test", []string{authz.RoleOwner}); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("admin invited an owner: %v", err)
		}
		if _, err := e.svc.CreateInvite(ctx, member, identity.Meta{}, "friend@acme.test", nil); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("member invited someone: %v", err)
		}
		if _, err := e.svc.CreateInvite(ctx, admin, identity.Meta{}, "x@acme.test", []string{"no-such-role"}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("unknown role: %v", err)
		}
		if _, err := e.svc.CreateInvite(ctx, admin, identity.Meta{}, "member@acme.test", nil); errs.KindOf(err) != errs.Exists {
			t.Fatalf("invited an existing member: %v", err)
		}
		if _, err := e.svc.CreateInvite(ctx, admin, identity.Meta{}, "not an address", nil); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("bad address: %v", err)
		}
		if len(e.mail.take()) != 0 {
			t.Fatal("a refused invitation was mailed")
		}
		inv, err := e.svc.CreateInvite(ctx, owner, identity.Meta{}, "boss@acme.test", []string{authz.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RevokeInvite(ctx, admin, identity.Meta{}, inv.ID); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("admin withdrew an owner's invitation of an owner: %v", err)
		}
		if _, err := e.svc.CreateInvite(ctx, admin, identity.Meta{}, "helper@acme.test", []string{authz.RoleMember}); err != nil {
			t.Fatalf("admin invites a member: %v", err)
		}
	})
}

func TestInviteRevokeReplaceAndOtherTenants(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		e.user(t, "globex", "owner@globex.test", authz.RoleOwner)
		owner := e.session(t, "acme", "owner@acme.test")
		other := e.session(t, "globex", "owner@globex.test")

		first, err := e.svc.CreateInvite(ctx, owner, identity.Meta{}, "kim@acme.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		oldToken := e.onlyMail(t, "kim@acme.test", "invite", "rpi_")
		second, err := e.svc.CreateInvite(ctx, owner, identity.Meta{}, "kim@acme.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		newToken := e.onlyMail(t, "kim@acme.test", "invite", "rpi_")
		if _, err := e.svc.AcceptInvite(ctx, identity.Meta{}, oldToken, goodPassword); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("replaced invitation accepted: %v", err)
		}
		if err := e.svc.RevokeInvite(ctx, owner, identity.Meta{}, first.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("revoking a replaced invitation: %v", err)
		}
		if list, _ := e.svc.ListInvites(ctx, other); len(list) != 0 {
			t.Fatalf("another organization sees acme's invitations: %+v", list)
		}
		if err := e.svc.RevokeInvite(ctx, other, identity.Meta{}, second.ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("another organization's owner revoked an invitation: %v", err)
		}
		if err := e.svc.RevokeInvite(ctx, owner, identity.Meta{}, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AcceptInvite(ctx, identity.Meta{}, newToken, goodPassword); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("revoked invitation accepted: %v", err)
		}
		if n := countAudit(t, db, e.orgs["acme"], "invite.revoke"); n != 1 {
			t.Fatalf("%d invite.revoke entries, want 1", n)
		}
	})
}

func TestInviteWhoseMailFailsIsWithdrawn(t *testing.T) {
	testutil.ForEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.user(t, "acme", "owner@acme.test", authz.RoleOwner)
		owner := e.session(t, "acme", "owner@acme.test")
		e.mail.fail = errs.E(errs.Unavailable, "test", "mail server down", errors.New("connection refused"))
		if _, err := e.svc.CreateInvite(ctx, owner, identity.Meta{}, "lou@acme.test", nil); errs.KindOf(err) != errs.Unavailable {
			t.Fatalf("undeliverable invitation: %v", err)
		}
		if list, _ := e.svc.ListInvites(ctx, owner); len(list) != 0 {
			t.Fatalf("undeliverable invitation left pending: %+v", list)
		}
	})
}

// countAudit counts org's audit entries with one of the actions.
func countAudit(t *testing.T, db *store.DB, org string, actions ...string) int {
	t.Helper()
	total := 0
	err := db.Read(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		for _, a := range actions {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND action = ?", org, a).Scan(&n); err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
