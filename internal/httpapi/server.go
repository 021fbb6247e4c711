package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/files"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/perimeter"
	"github.com/rampart-platform/rampart/internal/records"
	"github.com/rampart-platform/rampart/internal/secrets"
	"github.com/rampart-platform/rampart/internal/store"
)

// Check is one readiness probe: the database, the key provider.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Deps is what the API needs from the rest of the application.
type Deps struct {
	Log             *slog.Logger
	Checks          []Check
	PublicURL       string // for security.txt
	Version         string
	Identity        *identity.Service
	Audit           *audit.Log
	DB              *store.DB
	SessionLifetime time.Duration
	SecurityContact string // security.txt Contact URI
	Records         *records.Service
	// Organizations creates tenants for platform operators
	// (POST /api/v1/organizations); nil answers that route with 503.
	Organizations OrganizationCreator
	// OrgDeletion deletes tenants (owner request, operator confirmation);
	// nil answers those routes with 503.
	OrgDeletion OrganizationDeleter
	// Secrets is the credential vault; nil answers its routes with 503.
	Secrets *secrets.Service
	// Files is the encrypted file store; nil answers its routes with 503.
	Files *files.Service
	// KYC is identity verification; nil answers its route with 503.
	KYC *kyc.Service
	// OAuth is the OpenID provider, for /api/v1/clients; nil answers those
	// routes with 503.
	OAuth *oidc.Provider
	// Extra mounts handlers of other packages (the OpenID provider, the
	// API gateway) behind the same perimeter.
	Extra []Mount
}

// Mount is a handler served under an http.ServeMux pattern, with the
// perimeter and a body limit (0 means maxBody).
type Mount struct {
	Pattern   string
	Handler   http.Handler
	BodyLimit int64
}

// api holds what the handlers share.
type api struct {
	log             *slog.Logger
	id              *identity.Service
	records         *records.Service
	auditLog        *audit.Log
	db              *store.DB
	orgs            OrganizationCreator
	orgDelete       OrganizationDeleter
	secrets         *secrets.Service
	oauth           *oidc.Provider
	files           *files.Service
	kyc             *kyc.Service
	csrf            *http.CrossOriginProtection
	sessionLifetime time.Duration
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, a.log, err) }

// maxBody bounds request bodies by default (1 MiB); routes that stream
// large bodies (file uploads) set their own limit in bodyLimits.
const maxBody = 1 << 20

// NewHandler returns the HTTPS handler: perimeter first, then the routes.
func NewHandler(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": d.Version})
	})
	mux.HandleFunc("GET /readyz", readyHandler(d))
	mux.HandleFunc("GET /.well-known/security.txt", securityTxt(d.PublicURL, d.SecurityContact))
	mux.HandleFunc("GET "+openAPIPath, openAPIHandler(d.Version, d.Log))
	a := &api{log: d.Log, id: d.Identity, records: d.Records, auditLog: d.Audit, db: d.DB, orgs: d.Organizations, orgDelete: d.OrgDeletion, csrf: http.NewCrossOriginProtection(), sessionLifetime: d.SessionLifetime}
	a.secrets = d.Secrets
	a.oauth = d.OAuth
	a.files = d.Files
	a.kyc = d.KYC
	a.routes(mux)
	for _, m := range d.Extra {
		limit := m.BodyLimit
		if limit <= 0 {
			limit = maxBody
		}
		mux.Handle(m.Pattern, perimeter.LimitBody(limit, m.Handler))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, d.Log, errs.E(errs.NotFound, "httpapi", "no such endpoint: "+r.Method+" "+r.URL.Path))
	})
	var h http.Handler = mux
	h = recoverPanics(d.Log, h)
	h = perimeter.SecurityHeaders(h)
	h = perimeter.RequestID(h)
	return h
}

func readyHandler(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks := map[string]string{}
		ready := true
		for _, c := range d.Checks {
			if err := c.Run(ctx); err != nil {
				ready = false
				checks[c.Name] = "unavailable"
				d.Log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
				continue
			}
			checks[c.Name] = "ok"
		}
		status, word := http.StatusOK, "ready"
		if !ready {
			status, word = http.StatusServiceUnavailable, "not_ready"
		}
		writeJSON(w, status, map[string]any{"status": word, "checks": checks})
	}
}

// securityTxt is the RFC 9116 vulnerability-disclosure file (PE4); the
// contact is the operator's security.contact setting.
func securityTxt(publicURL, contact string) http.HandlerFunc {
	if contact == "" {
		contact = "mailto:security@localhost"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		expires := time.Now().UTC().AddDate(1, 0, 0).Truncate(24 * time.Hour).Format(time.RFC3339)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Contact: %s\nExpires: %s\nPreferred-Languages: en\nCanonical: %s/.well-known/security.txt\n",
			contact, expires, publicURL)
	}
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, log, errs.E("httpapi", fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
