package httpapi

import (
	"net/http"
	"strings"

	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// route is one API endpoint. The table below is the single list of routes:
// the mux is built from it and the OpenAPI test checks the document
// against it.
type route struct {
	method, path string
	auth         authMode
	handler      func(*api) http.HandlerFunc
}

// authMode says who may call a route.
type authMode uint8

const (
	public  authMode = iota // anyone (login, health)
	active                  // fully signed-in session or API token
	enrol                   // also sessions that must enrol 2FA first
	pending                 // only sessions waiting for their second factor
)

func apiRoutes() []route {
	return []route{
		{"POST", "/api/v1/auth/login", public, func(a *api) http.HandlerFunc { return a.login }},
		{"POST", "/api/v1/auth/mfa", pending, func(a *api) http.HandlerFunc { return a.mfa }},
		{"POST", "/api/v1/auth/logout", public, func(a *api) http.HandlerFunc { return a.logout }},

		{"GET", "/api/v1/me", enrol, func(a *api) http.HandlerFunc { return a.me }},
		{"POST", "/api/v1/me/password", active, func(a *api) http.HandlerFunc { return a.changePassword }},
		{"POST", "/api/v1/me/totp", enrol, func(a *api) http.HandlerFunc { return a.startTOTP }},
		{"POST", "/api/v1/me/totp/confirm", enrol, func(a *api) http.HandlerFunc { return a.confirmTOTP }},
		{"POST", "/api/v1/me/totp/disable", active, func(a *api) http.HandlerFunc { return a.disableTOTP }},
		{"GET", "/api/v1/me/tokens", active, func(a *api) http.HandlerFunc { return a.listTokens }},
		{"POST", "/api/v1/me/tokens", active, func(a *api) http.HandlerFunc { return a.createToken }},
		{"DELETE", "/api/v1/me/tokens/{id}", active, func(a *api) http.HandlerFunc { return a.revokeToken }},

		{"GET", "/api/v1/members", active, func(a *api) http.HandlerFunc { return a.listMembers }},
		{"PUT", "/api/v1/members/{id}/roles", active, func(a *api) http.HandlerFunc { return a.setMemberRoles }},
		{"DELETE", "/api/v1/members/{id}", active, func(a *api) http.HandlerFunc { return a.removeMember }},

		{"GET", "/api/v1/roles", active, func(a *api) http.HandlerFunc { return a.listRoles }},
		{"PUT", "/api/v1/roles/{name}", active, func(a *api) http.HandlerFunc { return a.putRole }},
		{"DELETE", "/api/v1/roles/{name}", active, func(a *api) http.HandlerFunc { return a.deleteRole }},

		{"GET", "/api/v1/sessions", active, func(a *api) http.HandlerFunc { return a.listSessions }},
		{"DELETE", "/api/v1/sessions/{id}", active, func(a *api) http.HandlerFunc { return a.revokeSession }},
		{"POST", "/api/v1/sessions/revoke-all", active, func(a *api) http.HandlerFunc { return a.revokeAllSessions }},

		{"GET", "/api/v1/policy/password", active, func(a *api) http.HandlerFunc { return a.getPolicy }},
		{"PUT", "/api/v1/policy/password", active, func(a *api) http.HandlerFunc { return a.putPolicy }},

		{"GET", "/api/v1/audit", active, func(a *api) http.HandlerFunc { return a.listAudit }},

		{"POST", "/api/v1/collections", active, func(a *api) http.HandlerFunc { return a.createCollection }},
		{"GET", "/api/v1/collections", active, func(a *api) http.HandlerFunc { return a.listCollections }},
		{"GET", "/api/v1/collections/{name}", active, func(a *api) http.HandlerFunc { return a.getCollection }},
		{"DELETE", "/api/v1/collections/{name}", active, func(a *api) http.HandlerFunc { return a.deleteCollection }},
		{"POST", "/api/v1/collections/{name}/records", active, func(a *api) http.HandlerFunc { return a.createRecord }},
		{"GET", "/api/v1/collections/{name}/records", active, func(a *api) http.HandlerFunc { return a.listRecords }},
		{"GET", "/api/v1/collections/{name}/records/{id}", active, func(a *api) http.HandlerFunc { return a.getRecord }},
		{"PUT", "/api/v1/collections/{name}/records/{id}", active, func(a *api) http.HandlerFunc { return a.replaceRecord }},
		{"PATCH", "/api/v1/collections/{name}/records/{id}", active, func(a *api) http.HandlerFunc { return a.patchRecord }},
		{"DELETE", "/api/v1/collections/{name}/records/{id}", active, func(a *api) http.HandlerFunc { return a.deleteRecord }},

		{"POST", "/api/v1/secrets", active, func(a *api) http.HandlerFunc { return a.createSecret }},
		{"GET", "/api/v1/secrets", active, func(a *api) http.HandlerFunc { return a.listSecrets }},
		{"GET", "/api/v1/secrets/{id}", active, func(a *api) http.HandlerFunc { return a.getSecret }},
		{"PUT", "/api/v1/secrets/{id}/value", active, func(a *api) http.HandlerFunc { return a.rotateSecret }},
		{"PUT", "/api/v1/secrets/{id}/metadata", active, func(a *api) http.HandlerFunc { return a.updateSecretMetadata }},
		{"POST", "/api/v1/secrets/{id}/reveal", active, func(a *api) http.HandlerFunc { return a.revealSecret }},
		{"DELETE", "/api/v1/secrets/{id}", active, func(a *api) http.HandlerFunc { return a.revokeSecret }},

		{"POST", "/api/v1/clients", active, func(a *api) http.HandlerFunc { return a.createClient }},
		{"GET", "/api/v1/clients", active, func(a *api) http.HandlerFunc { return a.listClients }},
		{"GET", "/api/v1/clients/{id}", active, func(a *api) http.HandlerFunc { return a.getClient }},
		{"DELETE", "/api/v1/clients/{id}", active, func(a *api) http.HandlerFunc { return a.revokeClient }},
		{"POST", "/api/v1/clients/registration-tokens", active, func(a *api) http.HandlerFunc { return a.createRegistrationToken }},

		{"POST", "/api/v1/files", active, func(a *api) http.HandlerFunc { return a.uploadFile }},
		{"GET", "/api/v1/files", active, func(a *api) http.HandlerFunc { return a.listFiles }},
		{"GET", "/api/v1/files/{id}", active, func(a *api) http.HandlerFunc { return a.downloadFile }},
		{"GET", "/api/v1/files/{id}/meta", active, func(a *api) http.HandlerFunc { return a.fileMeta }},
		{"DELETE", "/api/v1/files/{id}", active, func(a *api) http.HandlerFunc { return a.deleteFile }},

		{"POST", "/api/v1/invites", active, func(a *api) http.HandlerFunc { return a.createInvite }},
		{"GET", "/api/v1/invites", active, func(a *api) http.HandlerFunc { return a.listInvites }},
		{"DELETE", "/api/v1/invites/{id}", active, func(a *api) http.HandlerFunc { return a.revokeInvite }},
		{"POST", "/api/v1/invites/accept", public, func(a *api) http.HandlerFunc { return a.acceptInvite }},

		{"POST", "/api/v1/auth/password-reset", public, func(a *api) http.HandlerFunc { return a.requestPasswordReset }},
		{"POST", "/api/v1/auth/password-reset/confirm", public, func(a *api) http.HandlerFunc { return a.confirmPasswordReset }},

		{"POST", "/api/v1/bootstrap", public, func(a *api) http.HandlerFunc { return a.bootstrap }},
		{"POST", "/api/v1/organizations", active, func(a *api) http.HandlerFunc { return a.createOrganization }},
		{"DELETE", "/api/v1/organizations/{id}", active, func(a *api) http.HandlerFunc { return a.deleteOrganization }},

		{"POST", "/api/v1/organization/deletion", active, func(a *api) http.HandlerFunc { return a.requestOrgDeletion }},
		{"GET", "/api/v1/organization/deletion", active, func(a *api) http.HandlerFunc { return a.getOrgDeletion }},
		{"DELETE", "/api/v1/organization/deletion", active, func(a *api) http.HandlerFunc { return a.cancelOrgDeletion }},

		{"POST", "/api/v1/kyc/verifications", active, func(a *api) http.HandlerFunc { return a.verifyIdentity }},
	}
}

// bodyLimits gives the routes whose request bodies may exceed maxBody
// their own limit (a file upload streams up to the configured file size).
// Every other route, and every request the table does not match, is
// capped at maxBody.
var bodyLimits = map[string]func(a *api) int64{
	"POST /api/v1/files":             (*api).uploadLimit,
	"POST /api/v1/kyc/verifications": (*api).kycLimit,
}

// unavailable says why a route cannot be served: the dependency it needs
// was left out of Deps (nil). Such routes answer 503 after authentication,
// from this one place. (Identity verification checks its own service: a
// malformed request is refused before it is told the feature is off.)
func (a *api) unavailable(path string) error {
	missing := ""
	switch {
	case strings.HasPrefix(path, "/api/v1/secrets") && a.secrets == nil:
		missing = "the credential vault is"
	case strings.HasPrefix(path, "/api/v1/files") && a.files == nil:
		missing = "files are"
	case strings.HasPrefix(path, "/api/v1/clients") && a.oauth == nil:
		missing = "the OAuth provider is"
	case (strings.HasPrefix(path, "/api/v1/organization/deletion") || path == "/api/v1/organizations/{id}") && a.orgDelete == nil:
		missing = "deleting organizations is"
	default:
		return nil
	}
	return errs.E(errs.Unavailable, "httpapi", missing+" not available on this server")
}

// routes registers the table on mux. Every state-changing route, public or
// not, passes the cross-origin check (CSRF, including login CSRF): browsers
// send Sec-Fetch-Site / Origin, which another site's page cannot forge;
// non-browser clients send neither and are let through.
func (a *api) routes(mux *http.ServeMux) {
	for _, rt := range apiRoutes() {
		h := rt.handler(a)
		if err := a.unavailable(rt.path); err != nil {
			h = func(w http.ResponseWriter, r *http.Request) { a.fail(w, r, err) }
		}
		switch rt.auth {
		case active:
			h = a.authenticate(activeOnly, h)
		case enrol:
			h = a.authenticate(enrolToo, h)
		case pending:
			h = a.authenticate(mfaOnly, h)
		}
		if rt.method != http.MethodGet {
			h = a.crossOriginChecked(h) // before authentication: refused requests cost nothing
		}
		limit := int64(maxBody)
		if f := bodyLimits[rt.method+" "+rt.path]; f != nil {
			limit = f(a)
		}
		mux.Handle(rt.method+" "+rt.path, perimeter.LimitBody(limit, h))
	}
}

func (a *api) crossOriginChecked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.csrf.Check(r); err != nil {
			a.fail(w, r, errs.E(errs.Forbidden, "httpapi.csrf", "cross-origin request refused"))
			return
		}
		h(w, r)
	}
}
