package console

import (
	"bytes"
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/secrets"
	"github.com/rampart-platform/rampart/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Organization is a tenant as the operator pages show it.
type Organization struct {
	ID        string
	Slug      string
	Name      string
	CreatedAt time.Time
}

// Organizations is what the operator pages need from the application.
type Organizations interface {
	// CreateOrganization creates a tenant (the CLI's code path); actor goes
	// into the audit log. Errors: errs.Invalid, errs.Exists, errs.Unavailable.
	CreateOrganization(ctx context.Context, actor, name, slug string) (Organization, error)
	// ListOrganizations lists every tenant, oldest first. Errors: errs.Unavailable.
	ListOrganizations(ctx context.Context) ([]Organization, error)
}

// Deps is what the console needs. Identity, Audit and DB are required;
// Records and Organizations may be nil (their pages then say so).
type Deps struct {
	Log           *slog.Logger
	Identity      *identity.Service
	Audit         *audit.Log
	DB            *store.DB
	Records       *records.Service
	Organizations Organizations
	// Secrets (the credential vault) and OAuth (the OpenID provider) open
	// the credentials and OAuth clients pages; nil hides them.
	Secrets         *secrets.Service
	OAuth           *oidc.Provider
	SessionLifetime time.Duration
}

// Console serves the web console.
type Console struct {
	log      *slog.Logger
	id       *identity.Service
	auditLog *audit.Log
	db       *store.DB
	records  *records.Service
	orgs     Organizations
	secrets  *secrets.Service
	oauth    *oidc.Provider
	lifetime time.Duration
	csrf     *http.CrossOriginProtection
	pages    map[string]*pageTemplate
	static   map[string]asset
	mux      *http.ServeMux
}

// MaxBody bounds every console request body (forms are small).
const MaxBody = 64 << 10

// Patterns are the http.ServeMux patterns the console answers on the main
// HTTPS handler: everything under /console/, the site root (a redirect)
// and the pages that mailed and printed links open.
func Patterns() []string {
	return []string{"/console/", "GET /{$}", "GET /invite", "GET /reset", "GET /bootstrap"}
}

// New builds the console.
func New(d Deps) *Console {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lifetime := d.SessionLifetime
	if lifetime <= 0 {
		lifetime = 12 * time.Hour
	}
	c := &Console{log: log, id: d.Identity, auditLog: d.Audit, db: d.DB, records: d.Records, orgs: d.Organizations, secrets: d.Secrets, oauth: d.OAuth,
		lifetime: lifetime, csrf: http.NewCrossOriginProtection(), pages: mustParsePages(), static: loadAssets()}
	c.mux = c.routes()
	return c
}

// ServeHTTP answers a console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.Handle("GET /console/static/{file}", http.HandlerFunc(c.serveStatic))

	// Signing in and the single-use links.
	mux.Handle("GET /console/{$}", c.page(active, c.home))
	mux.Handle("GET /console/sign-in", c.page(anyone, c.signInPage))
	mux.Handle("POST /console/sign-in", c.page(anyone, c.signIn))
	mux.Handle("GET /console/sign-in/2fa", c.page(pending, c.mfaPage))
	mux.Handle("POST /console/sign-in/2fa", c.page(pending, c.mfa))
	mux.Handle("POST /console/sign-out", c.page(anyone, c.signOut))
	mux.Handle("GET /console/forgot", c.page(anyone, c.forgotPage))
	mux.Handle("POST /console/forgot", c.page(anyone, c.forgot))
	for _, p := range []string{"/console/reset", "/reset"} {
		mux.Handle("GET "+p, c.page(anyone, c.resetPage))
	}
	mux.Handle("POST /console/reset", c.page(anyone, c.reset))
	for _, p := range []string{"/console/invite", "/invite"} {
		mux.Handle("GET "+p, c.page(anyone, c.invitePage))
	}
	mux.Handle("POST /console/invite", c.page(anyone, c.acceptInvite))
	for _, p := range []string{"/console/bootstrap", "/bootstrap"} {
		mux.Handle("GET "+p, c.page(anyone, c.bootstrapPage))
	}
	mux.Handle("POST /console/bootstrap", c.page(anyone, c.bootstrap))

	// My account.
	mux.Handle("GET /console/account", c.page(active, c.accountPage))
	mux.Handle("POST /console/account/password", c.page(active, c.changePassword))
	mux.Handle("GET /console/account/2fa", c.page(enrolling, c.twoFactorPage))
	mux.Handle("POST /console/account/2fa/start", c.page(enrolling, c.startTOTP))
	mux.Handle("POST /console/account/2fa/confirm", c.page(enrolling, c.confirmTOTP))
	mux.Handle("POST /console/account/2fa/disable", c.page(active, c.disableTOTP))
	mux.Handle("GET /console/account/sessions", c.page(active, c.sessionsPage))
	mux.Handle("POST /console/account/sessions/revoke", c.page(active, c.revokeSession))
	mux.Handle("POST /console/account/sessions/revoke-others", c.page(active, c.revokeOtherSessions))
	mux.Handle("GET /console/account/tokens", c.page(active, c.tokensPage))
	mux.Handle("POST /console/account/tokens", c.page(active, c.createToken))
	mux.Handle("POST /console/account/tokens/revoke", c.page(active, c.revokeToken))

	// Organization administration.
	mux.Handle("GET /console/org/members", c.page(active, c.membersPage))
	mux.Handle("POST /console/org/members/invite", c.page(active, c.invite))
	mux.Handle("POST /console/org/invites/revoke", c.page(active, c.revokeInvite))
	mux.Handle("GET /console/org/members/{id}", c.page(active, c.memberPage))
	mux.Handle("POST /console/org/members/{id}/roles", c.page(active, c.setMemberRoles))
	mux.Handle("POST /console/org/members/{id}/sessions/revoke", c.page(active, c.revokeMemberSessions))
	mux.Handle("POST /console/org/members/{id}/remove", c.page(active, c.removeMember))
	mux.Handle("GET /console/org/roles", c.page(active, c.rolesPage))
	mux.Handle("POST /console/org/roles", c.page(active, c.putRole))
	mux.Handle("GET /console/org/roles/{name}", c.page(active, c.rolePage))
	mux.Handle("POST /console/org/roles/{name}/delete", c.page(active, c.deleteRole))
	mux.Handle("GET /console/org/policy", c.page(active, c.policyPage))
	mux.Handle("POST /console/org/policy", c.page(active, c.setPolicy))
	mux.Handle("GET /console/org/audit", c.page(active, c.auditPage))
	mux.Handle("GET /console/org/audit/export", c.page(active, c.auditExport))
	mux.Handle("POST /console/org/audit/verify", c.page(active, c.auditVerify))
	mux.Handle("GET /console/org/collections", c.page(active, c.collectionsPage))
	mux.Handle("GET /console/org/clients", c.page(active, c.clientsPage))
	mux.Handle("POST /console/org/clients", c.page(active, c.createClient))
	mux.Handle("POST /console/org/clients/revoke", c.page(active, c.revokeClient))
	mux.Handle("GET /console/org/credentials", c.page(active, c.credentialsPage))
	mux.Handle("POST /console/org/credentials/revoke", c.page(active, c.revokeCredential))

	// Platform operators.
	mux.Handle("GET /console/operator/orgs", c.page(active, c.orgsPage))
	mux.Handle("POST /console/operator/orgs", c.page(active, c.createOrg))

	mux.Handle("/console/", c.page(anyone, func(cl *call) error {
		return errs.E(errs.NotFound, "console", "There is no such page.")
	}))
	return mux
}

// asset is one embedded static file, loaded once.
type asset struct {
	body  []byte
	ctype string
}

// loadAssets reads every embedded static file into memory: requests pick
// from this fixed set by name and never touch a file system path.
func loadAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(assets, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, e := range entries {
		body, err := fs.ReadFile(assets, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		out[e.Name()] = asset{body: body, ctype: types[path.Ext(e.Name())]}
	}
	return out
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := c.static[r.PathValue("file")]
	if !ok || a.ctype == "" {
		c.errorPage(&call{c: c, w: w, r: r}, errs.E(errs.NotFound, "console.static", "There is no such page."))
		return
	}
	// Assets change only with the binary; a short cache spares reloads.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", a.ctype)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
