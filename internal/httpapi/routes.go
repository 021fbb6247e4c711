package httpapi

import "net/http"

// routes is the API's route table: each route names the session states it
// accepts; permission checks happen in the domain calls (authz.Can).
func (a *api) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/auth/login", a.login)
	mux.HandleFunc("POST /api/v1/auth/mfa", a.authenticate(mfaOnly, a.mfa))
	mux.HandleFunc("POST /api/v1/auth/logout", a.logout)

	mux.HandleFunc("GET /api/v1/me", a.authenticate(enrolToo, a.me))
	mux.HandleFunc("POST /api/v1/me/totp", a.authenticate(enrolToo, a.startTOTP))
	mux.HandleFunc("POST /api/v1/me/totp/confirm", a.authenticate(enrolToo, a.confirmTOTP))
	mux.HandleFunc("POST /api/v1/me/totp/disable", a.authenticate(activeOnly, a.disableTOTP))
	mux.HandleFunc("POST /api/v1/me/password", a.authenticate(activeOnly, a.changePassword))
	mux.HandleFunc("GET /api/v1/me/tokens", a.authenticate(activeOnly, a.listTokens))
	mux.HandleFunc("POST /api/v1/me/tokens", a.authenticate(activeOnly, a.createToken))
	mux.HandleFunc("DELETE /api/v1/me/tokens/{id}", a.authenticate(activeOnly, a.revokeToken))

	mux.HandleFunc("GET /api/v1/members", a.authenticate(activeOnly, a.listMembers))
	mux.HandleFunc("PUT /api/v1/members/{id}/roles", a.authenticate(activeOnly, a.setMemberRoles))

	mux.HandleFunc("GET /api/v1/sessions", a.authenticate(activeOnly, a.listSessions))
	mux.HandleFunc("DELETE /api/v1/sessions/{id}", a.authenticate(activeOnly, a.revokeSession))
	mux.HandleFunc("POST /api/v1/sessions/revoke-all", a.authenticate(activeOnly, a.revokeAllSessions))

	mux.HandleFunc("GET /api/v1/policy/password", a.authenticate(activeOnly, a.getPolicy))
	mux.HandleFunc("PUT /api/v1/policy/password", a.authenticate(activeOnly, a.putPolicy))

	mux.HandleFunc("GET /api/v1/audit", a.authenticate(activeOnly, a.listAudit))
}
