package identity

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/lockout"
	"github.com/rampart-platform/rampart/internal/store"
)

// Session states: what a session may do.
const (
	SessionActive = "active" // fully signed in
	SessionMFA    = "mfa"    // password accepted; second factor pending
	SessionEnrol  = "enrol"  // signed in, but the organization requires 2FA: enrolment only
)

// hashWait bounds how long a login queues for the password hasher.
const hashWait = 10 * time.Second

// errLoginFailed is the one answer to every failed login, whether the
// organization, the account or the password was wrong.
func errLoginFailed() error {
	return errs.E(errs.Unauthorized, "identity.Login", "invalid organization, email or password")
}

// errLocked is the answer while a key is locked out; it says nothing about
// whether the account exists, since unknown accounts are locked alike.
func errLocked(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return errs.E(errs.RateLimited, "identity.Login", fmt.Sprintf("too many failed attempts; try again in %d seconds", secs))
}

// RetryAfter extracts the wait from a RateLimited error's message, for the
// Retry-After header; 0 if unknown.
func RetryAfter(err error) int {
	var n int
	msg := errs.SafeMessage(err)
	if i := strings.Index(msg, "try again in "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "try again in %d seconds", &n)
	}
	return n
}

// LoginRequest is a password login.
type LoginRequest struct {
	Organization string // slug
	Email        string
	Password     string
}

// LoginResult is a started session.
type LoginResult struct {
	Token string // the session token for the cookie
	State string // SessionActive, SessionMFA or SessionEnrol
}

// MFARequired reports whether a second factor must follow.
func (r LoginResult) MFARequired() bool { return r.State == SessionMFA }

type loginUser struct {
	id, org, hash, status string
	mfa                   bool
}

func accountKey(org, email string) string { return "acct:" + org + ":" + email }
func ipKey(ip string) string              { return "ip:" + ip }

// Login checks a password and starts a session. Every failure looks the
// same and costs the same (a dummy hash for unknown accounts); both the
// account and the client address are throttled with exponential backoff.
func (s *Service) Login(ctx context.Context, m Meta, req LoginRequest) (LoginResult, error) {
	const op = "identity.Login"
	slug := strings.ToLower(strings.TrimSpace(req.Organization))
	email := strings.ToLower(strings.TrimSpace(req.Email))
	acct, ipk := accountKey(slug, email), ipKey(m.IP)
	for _, k := range []struct {
		key  string
		rule lockout.Rule
	}{{acct, lockout.AccountRule()}, {ipk, lockout.IPRule()}} {
		wait, err := s.lock.Locked(ctx, k.key, k.rule)
		if err != nil {
			return LoginResult{}, errs.E(errs.Unavailable, op, "login unavailable", err)
		}
		if wait > 0 {
			return LoginResult{}, errLocked(wait)
		}
	}
	if len(req.Password) > 1024 || len(email) > 254 || len(slug) > 63 {
		return LoginResult{}, errLoginFailed()
	}
	var u loginUser
	found := false
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		var mfa int64
		err := tx.QueryRow(ctx, `SELECT u.id, u.org_id, u.password_hash, u.status, u.totp_enabled
			FROM users u JOIN organizations o ON o.id = u.org_id WHERE o.slug = ? AND u.email = ?`, slug, email).
			Scan(&u.id, &u.org, &u.hash, &u.status, &mfa)
		if store.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return dbErr(op, err)
		}
		found, u.mfa = true, mfa != 0
		return nil
	})
	if err != nil {
		return LoginResult{}, err
	}
	// A login waits at most this long for a hashing slot: under a flood,
	// callers get a prompt 503 instead of an ever-growing queue.
	hctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	ok, rehash := false, false
	if found && u.hash != "" {
		ok, rehash, err = s.hasher.Verify(hctx, u.hash, req.Password)
	} else {
		err = s.hasher.VerifyDummy(hctx, req.Password)
	}
	if err != nil && hctx.Err() != nil && ctx.Err() == nil {
		return LoginResult{}, errs.E(errs.Unavailable, op, "too many sign-ins at once; try again in a few seconds", err)
	}
	if err != nil && errs.KindOf(err) != errs.Invalid {
		return LoginResult{}, err
	}
	if !ok || u.status != StatusActive {
		return LoginResult{}, s.loginFailed(ctx, m, u, found, acct, ipk, "password")
	}
	_ = s.lock.Reset(ctx, acct)
	var newHash string
	if rehash {
		// Parameters changed since this hash was made: upgrade it now,
		// while we hold the password.
		if newHash, err = s.hasher.Hash(ctx, req.Password); err != nil {
			return LoginResult{}, err
		}
	}
	var res LoginResult
	err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		st, err := s.loadSettings(ctx, tx, u.org)
		if err != nil {
			return err
		}
		state := SessionActive
		switch {
		case u.mfa:
			state = SessionMFA
		case st.RequireMFA:
			state = SessionEnrol
		}
		if newHash != "" {
			if _, err := tx.Exec(ctx, "UPDATE users SET password_hash = ? WHERE id = ? AND org_id = ?", newHash, u.id, u.org); err != nil {
				return dbErr(op, err)
			}
		}
		token, err := s.createSession(ctx, tx, u.org, u.id, state, m)
		if err != nil {
			return err
		}
		res = LoginResult{Token: token, State: state}
		outcome := audit.Success
		action := "auth.login"
		if state == SessionMFA {
			action = "auth.login.password"
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Org: u.org, Actor: "user:" + u.id, Action: action, Target: "user:" + u.id,
			Outcome: outcome, IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"session_state": state, "rehashed": newHash != ""}})
		return err
	})
	return res, err
}

// loginFailed counts a failure against the account and the address, audits
// it (and any lockout it caused) and returns the uniform error.
func (s *Service) loginFailed(ctx context.Context, m Meta, u loginUser, found bool, acct, ipk, factor string) error {
	lockAcct, n, _ := s.lock.Fail(ctx, acct, lockout.AccountRule())
	lockIP, _, _ := s.lock.Fail(ctx, ipk, lockout.IPRule())
	// Failures against unknown accounts are still audited, on the
	// platform chain, so attack patterns are visible.
	org, actor, target := audit.PlatformOrg, "anonymous", "account"
	if found {
		org, actor, target = u.org, "user:"+u.id, "user:"+u.id
	}
	_ = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := s.audit.Append(ctx, tx, audit.Event{Org: org, Actor: actor, Action: "auth.login", Target: target, Outcome: audit.Failure,
			IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"factor": factor, "failures": n}}); err != nil {
			return err
		}
		for _, l := range []struct {
			what string
			d    time.Duration
		}{{"account", lockAcct}, {"address", lockIP}} {
			if l.d <= 0 {
				continue
			}
			if _, err := s.audit.Append(ctx, tx, audit.Event{Org: org, Actor: "system", Action: "auth.lockout", Target: target, Outcome: audit.Denied,
				IP: m.IP, UserAgent: m.UserAgent, Details: map[string]any{"scope": l.what, "seconds": int(l.d.Seconds()), "failures": n}}); err != nil {
				return err
			}
		}
		return nil
	})
	return errLoginFailed()
}

// Session is a signed-in browser or client.
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

func (s *Service) createSession(ctx context.Context, tx *store.Tx, org, userID, state string, m Meta) (string, error) {
	token, hash := newToken(prefixSession)
	now := s.now()
	if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, org_id, user_id, state, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.NewString(), hash, org, userID, state, now.UnixMicro(), now.UnixMicro(),
		now.Add(s.cfg.SessionLifetime).UnixMicro(), m.IP, truncate(m.UserAgent, 256)); err != nil {
		return "", dbErr("identity.createSession", err)
	}
	return token, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Authenticated is the result of checking a session or token.
type Authenticated struct {
	Principal authz.Principal
	SessionID string // "" for API tokens
	State     string // session state; SessionActive for tokens
	Email     string
}

// errNoSession is the answer to any unusable credential.
func errNoSession() error {
	return errs.E(errs.Unauthorized, "identity.Authenticate", "not signed in, or the session has expired")
}

// touchEvery limits last-seen updates to one write per session a minute.
const touchEvery = time.Minute

// AuthenticateSession resolves a session cookie to its principal, ending
// sessions that are idle too long or past their lifetime.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (Authenticated, error) {
	const op = "identity.AuthenticateSession"
	if !tokenShapeOK(token, prefixSession) {
		return Authenticated{}, errNoSession()
	}
	var a Authenticated
	var created, seen, expires int64
	var status string
	err := s.db.Read(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT s.id, s.org_id, s.user_id, s.state, s.created_at, s.last_seen_at, s.expires_at, u.email, u.status
			FROM sessions s JOIN users u ON u.id = s.user_id AND u.org_id = s.org_id WHERE s.token_hash = ?`, hashToken(token)).
			Scan(&a.SessionID, &a.Principal.OrgID, &a.Principal.UserID, &a.State, &created, &seen, &expires, &a.Email, &status)
		if store.IsNoRows(err) {
			return errNoSession()
		}
		if err != nil {
			return dbErr(op, err)
		}
		a.Principal.Roles, err = s.loadRoles(ctx, tx, a.Principal.OrgID, a.Principal.UserID)
		return err
	})
	if err != nil {
		return Authenticated{}, err
	}
	now := s.now()
	if now.UnixMicro() >= expires || now.Sub(time.UnixMicro(seen)) > s.cfg.SessionIdle || status != StatusActive {
		_ = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "DELETE FROM sessions WHERE id = ?", a.SessionID)
			return err
		})
		return Authenticated{}, errNoSession()
	}
	if now.Sub(time.UnixMicro(seen)) > touchEvery {
		_ = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", now.UnixMicro(), a.SessionID)
			return err
		})
	}
	a.Principal.Kind = authz.KindUser
	return a, nil
}

// Logout ends the session with this token.
func (s *Service) Logout(ctx context.Context, m Meta, token string) error {
	a, err := s.AuthenticateSession(ctx, token)
	if err != nil {
		return nil // already gone: logging out is idempotent
	}
	return s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE id = ? AND org_id = ?", a.SessionID, a.Principal.OrgID); err != nil {
			return dbErr("identity.Logout", err)
		}
		_, err := s.audit.Append(ctx, tx, event(a.Principal, m, "auth.logout", "session:"+a.SessionID, nil))
		return err
	})
}
