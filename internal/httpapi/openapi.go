package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/secrets"
)

// openAPIPath is where the OpenAPI 3.1 document of the whole API is served.
const openAPIPath = "/api/v1/openapi.json"

// The document is built from the route table (which routes exist, with which
// method and who may call them) and from operationDocs (what each one takes
// and answers). openapi_test.go fails, naming the route, when a route has no
// entry or an entry no route; the end-to-end conformance test validates real
// responses against the schemas. Together they keep the document true.

// openAPIHandler serves the document. It is built once: the document only
// changes with the binary.
func openAPIHandler(version string, log *slog.Logger) http.HandlerFunc {
	body, err := marshalOpenAPI(openAPIDocument(version))
	if err != nil {
		// Unreachable with the types below (no channels, funcs or NaNs);
		// answered as any internal error rather than a panic at start.
		return func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, log, errs.E("httpapi.openapi", err))
		}
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// marshalOpenAPI encodes the document as JSON, leaving <, > and & as they
// are: the document is data for tools and people, never embedded in HTML.
func marshalOpenAPI(doc oaDocument) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// The OpenAPI 3.1 objects Rampart uses. Maps are marshalled with sorted
// keys, so the document is byte-for-byte the same on every build of a
// version.

type oaDocument struct {
	OpenAPI    string                `json:"openapi"`
	Info       oaInfo                `json:"info"`
	Tags       []oaTag               `json:"tags"`
	Paths      map[string]oaPathItem `json:"paths"`
	Components oaComponents          `json:"components"`
}

type oaInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type oaTag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// oaPathItem maps a lower-case HTTP method to its operation.
type oaPathItem map[string]*oaOperation

type oaOperation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Description string                `json:"description,omitempty"`
	Tags        []string              `json:"tags"`
	Security    []oaSecurity          `json:"security"` // always present: [] on a public operation
	Parameters  []oaParameter         `json:"parameters,omitempty"`
	RequestBody *oaRequestBody        `json:"requestBody,omitempty"`
	Responses   map[string]oaResponse `json:"responses"`
}

// oaSecurity is one alternative way to authenticate: scheme name -> the
// permissions (OpenAPI 3.1 calls them roles) the operation needs.
type oaSecurity map[string][]string

type oaParameter struct {
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	Schema      *oaSchema `json:"schema"`
}

type oaRequestBody struct {
	Description string                 `json:"description,omitempty"`
	Required    bool                   `json:"required"`
	Content     map[string]oaMediaType `json:"content"`
}

type oaMediaType struct {
	Schema *oaSchema `json:"schema"`
}

// oaResponse is a Response object, or a Reference to one when Ref is set.
type oaResponse struct {
	Ref         string                 `json:"$ref,omitempty"`
	Description string                 `json:"description,omitempty"`
	Headers     map[string]oaHeader    `json:"headers,omitempty"`
	Content     map[string]oaMediaType `json:"content,omitempty"`
}

type oaHeader struct {
	Description string    `json:"description"`
	Schema      *oaSchema `json:"schema"`
}

type oaComponents struct {
	Schemas         map[string]*oaSchema        `json:"schemas"`
	Responses       map[string]oaResponse       `json:"responses"`
	SecuritySchemes map[string]oaSecurityScheme `json:"securitySchemes"`
}

type oaSecurityScheme struct {
	Type         string `json:"type"`
	Description  string `json:"description"`
	Name         string `json:"name,omitempty"`
	In           string `json:"in,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
}

// oaSchema is the part of JSON Schema 2020-12 (the dialect of OpenAPI 3.1)
// that the document uses.
type oaSchema struct {
	Ref                  string               `json:"$ref,omitempty"`
	Type                 string               `json:"type,omitempty"`
	Format               string               `json:"format,omitempty"`
	Description          string               `json:"description,omitempty"`
	Enum                 []any                `json:"enum,omitempty"`
	Const                any                  `json:"const,omitempty"`
	AllOf                []*oaSchema          `json:"allOf,omitempty"`
	Properties           map[string]*oaSchema `json:"properties,omitempty"`
	Required             []string             `json:"required,omitempty"`
	AdditionalProperties any                  `json:"additionalProperties,omitempty"` // false (closed object) or a *oaSchema
	Items                *oaSchema            `json:"items,omitempty"`
	MinItems             *int                 `json:"minItems,omitempty"`
	MinLength            *int                 `json:"minLength,omitempty"`
	MaxLength            *int                 `json:"maxLength,omitempty"`
	Minimum              *int64               `json:"minimum,omitempty"`
	Maximum              *int64               `json:"maximum,omitempty"`
	Pattern              string               `json:"pattern,omitempty"`
	ContentEncoding      string               `json:"contentEncoding,omitempty"`
	ContentMediaType     string               `json:"contentMediaType,omitempty"`
}

// Schema builders, so the tables below read as the shapes they describe.

func oaString(desc string) *oaSchema { return &oaSchema{Type: "string", Description: desc} }
func oaFormat(format, desc string) *oaSchema {
	return &oaSchema{Type: "string", Format: format, Description: desc}
}
func oaBool(desc string) *oaSchema { return &oaSchema{Type: "boolean", Description: desc} }
func oaRef(name string) *oaSchema  { return &oaSchema{Ref: "#/components/schemas/" + name} }
func oaArray(items *oaSchema, desc string) *oaSchema {
	return &oaSchema{Type: "array", Items: items, Description: desc}
}
func oaEnum(desc string, values ...string) *oaSchema {
	s := &oaSchema{Type: "string", Description: desc}
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return s
}
func oaInt(n int) *int             { return &n }
func oaInt64(n int64) *int64       { return &n }
func oaTime(desc string) *oaSchema { return oaFormat("date-time", desc) }

// oaProps lists an object's properties.
type oaProps map[string]*oaSchema

// object is a closed object: a field not listed here is not sent, and in a
// request body is refused (decode disallows unknown fields). required
// names the properties that are always present.
func oaObject(desc string, p oaProps, required ...string) *oaSchema {
	return &oaSchema{Type: "object", Description: desc, Properties: p, Required: required, AdditionalProperties: false}
}

// listOf is the {"items":[...]} envelope of every collection.
func oaList(item, desc string) *oaSchema {
	return oaObject(desc, oaProps{"items": oaArray(oaRef(item), "")}, "items")
}

// opAnswer is one documented answer that is not an error of the common
// shape: a success, or /readyz's 503.
type opAnswer struct {
	status      int
	description string
	body        *oaSchema // nil: no content
	contentType string    // default application/json
	headers     map[string]oaHeader
}

// opDoc documents one operation: what the route table cannot say.
type opDoc struct {
	id          string // operationId, unique in the document
	tag         string
	summary     string
	description string
	// permissions the operation always requires, named in its security
	// requirements (OpenAPI 3.1 allows roles for any scheme). One needed
	// only in some cases (sessions.manage for another member's sessions)
	// is named in the description instead.
	permissions []authz.Permission
	params      map[string]string // path parameter -> description
	query       []oaParameter
	body        *oaSchema // the JSON request body; nil when the route reads none
	// bodyContent documents a request body that is not JSON (a file
	// upload), by media type.
	bodyContent map[string]*oaSchema
	answers     []opAnswer
	// errors lists the error statuses that the route's shape does not
	// imply. Implied are: 400 with a body; 401 and 403 when authenticated;
	// 403 on every unsafe route (cross-origin check);
	// 409 for a session waiting for its second factor; 500 and 503 on every
	// route of the table (the database may be down).
	errors []int
}

// Tags group operations in the document.
const (
	tagAuth     = "auth"
	tagMe       = "me"
	tagMembers  = "members"
	tagRoles    = "roles"
	tagRecords  = "records"
	tagSecrets  = "secrets"
	tagClients  = "clients"
	tagFiles    = "files"
	tagSessions = "sessions"
	tagPolicy   = "policy"
	tagAudit    = "audit"
	tagInvites  = "invites"
	tagPlatform = "platform"
	tagSystem   = "system"
	tagKYC      = "kyc"
)

func openAPITags() []oaTag {
	return []oaTag{
		{tagAuth, "Signing in and out: password, second factor, session cookie."},
		{tagMe, "The signed-in user: identity, password, two-factor authentication, personal API tokens."},
		{tagMembers, "The organization's members and their roles."},
		{tagRoles, "Built-in and custom roles: named sets of permissions."},
		{tagRecords, "Collections of encrypted JSON records."},
		{tagFiles, "Encrypted files, stand-alone or attached to records: streamed upload and download, byte ranges."},
		{tagClients, "OAuth 2.0 / OpenID Connect clients of the organization; the provider itself is at /.well-known/openid-configuration and /oauth/."},
		{tagSecrets, "The credential vault: third-party passwords, API keys and OAuth tokens, stored encrypted; values are write-only for people."},
		{tagSessions, "Signed-in browsers and clients, and revoking them."},
		{tagPolicy, "The organization's password and two-factor policy."},
		{tagAudit, "The organization's tamper-evident audit log."},
		{tagInvites, "Inviting people into the organization by email, and redeeming an invitation."},
		{tagPlatform, "Platform operators: the first-start bootstrap and creating organizations."},
		{tagSystem, "Health, readiness, disclosure policy and this document."},
		{tagKYC, "Identity verification: an identity document's MRZ and a face match against a selfie; nothing is stored."},
	}
}

// Security scheme names.
const (
	schemeSession = "session"
	schemeBearer  = "bearer"
)

func oaOK(status int, desc string, body *oaSchema) opAnswer {
	return opAnswer{status: status, description: desc, body: body}
}

func oaSetCookie(desc string) map[string]oaHeader {
	return map[string]oaHeader{"Set-Cookie": {Description: desc, Schema: oaString("")}}
}

// operationDocs documents every route of apiRoutes, keyed "METHOD path".
func operationDocs() map[string]opDoc {
	idParam := func(what string) map[string]string { return map[string]string{"id": "The " + what + "'s id."} }
	return map[string]opDoc{
		"POST /api/v1/auth/login": {
			id: "login", tag: tagAuth, summary: "Sign in with a password",
			description: "Checks the password and sets the session cookie. When `mfa_required` is true the session " +
				"can only call POST /api/v1/auth/mfa; when `mfa_enrolment_required` is true the organization requires " +
				"two-factor authentication and the session can only enrol (POST /api/v1/me/totp). Every failure answers " +
				"the same 401, whether or not the organization or account exists; repeated failures lock the account " +
				"and the client address out for a while (429 with Retry-After).",
			body: oaRef("LoginRequest"),
			answers: []opAnswer{{status: 200, description: "Password accepted; the session cookie is set.", body: oaRef("LoginResult"),
				headers: oaSetCookie("The `" + SessionCookie + "` session cookie (Secure, HttpOnly, SameSite=Lax).")}},
			errors: []int{401, 429},
		},
		"POST /api/v1/auth/mfa": {
			id: "completeMFA", tag: tagAuth, summary: "Complete sign-in with a second factor",
			description: "Accepts a current TOTP code (each usable once) or an unused recovery code for a session " +
				"waiting for its second factor, and replaces the session cookie with a fully signed-in one.",
			body: oaRef("CodeRequest"),
			answers: []opAnswer{{status: 200, description: "Signed in; the session cookie is replaced.", body: oaRef("MFAResult"),
				headers: oaSetCookie("The new `" + SessionCookie + "` session cookie.")}},
			errors: []int{410, 429},
		},
		"POST /api/v1/auth/logout": {
			id: "logout", tag: tagAuth, summary: "Sign out",
			description: "Ends the session named by the cookie, if any, and clears the cookie. Always succeeds for a " +
				"caller without a session.",
			answers: []opAnswer{{status: 204, description: "Signed out; the cookie is cleared.",
				headers: oaSetCookie("Clears the `" + SessionCookie + "` cookie.")}},
		},

		"GET /api/v1/me": {
			id: "getMe", tag: tagMe, summary: "Who am I",
			description: "The caller's identity and effective permissions (for an API token: only those the token was " +
				"given that the user still holds).",
			answers: []opAnswer{oaOK(200, "The signed-in user.", oaRef("Me"))},
		},
		"POST /api/v1/me/password": {
			id: "changePassword", tag: tagMe, summary: "Change my password",
			description: "Checks the current password, applies the organization's policy to the new one (a 400 lists " +
				"every broken rule in `details.violations`) and signs out every other session of the user.",
			body:    oaRef("PasswordChangeRequest"),
			answers: []opAnswer{oaOK(204, "Password changed.", nil)},
			errors:  []int{429},
		},
		"POST /api/v1/me/totp": {
			id: "startTOTP", tag: tagMe, summary: "Start two-factor enrolment",
			description: "Creates a new TOTP secret (replacing an unconfirmed one) and returns it as an otpauth URI and " +
				"a QR code. Two-factor authentication is on only after POST /api/v1/me/totp/confirm.",
			answers: []opAnswer{oaOK(200, "Scan this into an authenticator app.", oaRef("TOTPEnrollment"))},
			errors:  []int{409, 410},
		},
		"POST /api/v1/me/totp/confirm": {
			id: "confirmTOTP", tag: tagMe, summary: "Confirm two-factor enrolment",
			description: "Turns two-factor authentication on after a first valid code and returns 10 single-use " +
				"recovery codes, shown this once.",
			body:    oaRef("CodeRequest"),
			answers: []opAnswer{oaOK(200, "Two-factor authentication is on.", oaRef("RecoveryCodes"))},
			errors:  []int{409, 410},
		},
		"POST /api/v1/me/totp/disable": {
			id: "disableTOTP", tag: tagMe, summary: "Turn two-factor authentication off",
			description: "Checks a current TOTP code, then deletes the secret and the recovery codes.",
			body:        oaRef("CodeRequest"),
			answers:     []opAnswer{oaOK(204, "Two-factor authentication is off.", nil)},
			errors:      []int{409, 410},
		},
		"GET /api/v1/me/tokens": {
			id: "listTokens", tag: tagMe, summary: "List my API tokens",
			description: "The caller's live (unrevoked, unexpired) personal API tokens, oldest first; never their values.",
			answers:     []opAnswer{oaOK(200, "The tokens.", oaRef("APITokenList"))},
		},
		"POST /api/v1/me/tokens": {
			id: "createToken", tag: tagMe, summary: "Create an API token",
			description: "Issues a personal API token for scripts, limited to the given permissions (never more than " +
				"the user's roles allow) and expiring after `expires_in_seconds`. Only a signed-in session can create " +
				"one (403 for a token). The value is returned once: send it as `Authorization: Bearer <token>`.",
			body:    oaRef("APITokenRequest"),
			answers: []opAnswer{oaOK(201, "The token, with its value shown this once.", oaRef("APITokenCreated"))},
		},
		"DELETE /api/v1/me/tokens/{id}": {
			id: "revokeToken", tag: tagMe, summary: "Revoke one of my API tokens",
			params:  idParam("token"),
			answers: []opAnswer{oaOK(204, "Revoked; the token stops working at once.", nil)},
			errors:  []int{404},
		},

		"GET /api/v1/members": {
			id: "listMembers", tag: tagMembers, summary: "List members",
			description: "The organization's members with their roles, ordered by email.",
			permissions: []authz.Permission{authz.MembersRead},
			answers:     []opAnswer{oaOK(200, "The members.", oaRef("MemberList"))},
		},
		"PUT /api/v1/members/{id}/roles": {
			id: "setMemberRoles", tag: tagMembers, summary: "Replace a member's roles",
			description: "The caller must hold every permission of the roles it grants or takes away. The organization " +
				"always keeps at least one owner (409). Takes effect on the member's next request. A member of " +
				"another organization is not found.",
			permissions: []authz.Permission{authz.MembersManage},
			params:      idParam("member"),
			body:        oaRef("MemberRolesRequest"),
			answers:     []opAnswer{oaOK(200, "The member's new roles.", oaRef("MemberRoles"))},
			errors:      []int{404, 409},
		},
		"DELETE /api/v1/members/{id}": {
			id: "removeMember", tag: tagMembers, summary: "Remove a member",
			description: "Deletes the member with their sessions and API tokens. The caller must hold every permission " +
				"of the member's roles; the last owner cannot be removed (409). A member of another organization is not found.",
			permissions: []authz.Permission{authz.MembersManage},
			params:      idParam("member"),
			answers:     []opAnswer{oaOK(204, "Removed.", nil)},
			errors:      []int{404, 409},
		},

		"GET /api/v1/roles": {
			id: "listRoles", tag: tagRoles, summary: "List roles",
			description: "The built-in roles (owner, admin, member, auditor) and the organization's custom roles.",
			permissions: []authz.Permission{authz.MembersRead},
			answers:     []opAnswer{oaOK(200, "The roles.", oaRef("RoleList"))},
		},
		"PUT /api/v1/roles/{name}": {
			id: "putRole", tag: tagRoles, summary: "Create or replace a custom role",
			description: "A custom role is a set of permissions, optionally limited to named collections for records.* " +
				"and files.*. The caller must hold every permission it puts in the role, and every permission the role " +
				"had. Built-in names are reserved.",
			permissions: []authz.Permission{authz.RolesManage},
			params:      map[string]string{"name": "The role's name."},
			body:        oaRef("RoleRequest"),
			answers:     []opAnswer{oaOK(200, "The role as stored.", oaRef("Role"))},
		},
		"DELETE /api/v1/roles/{name}": {
			id: "deleteRole", tag: tagRoles, summary: "Delete a custom role",
			description: "Only a role no member holds can be deleted (409 otherwise).",
			permissions: []authz.Permission{authz.RolesManage},
			params:      map[string]string{"name": "The role's name."},
			answers:     []opAnswer{oaOK(204, "Deleted.", nil)},
			errors:      []int{404, 409},
		},

		"GET /api/v1/sessions": {
			id: "listSessions", tag: tagSessions, summary: "List sessions",
			description: "The caller's live sessions, or with `user` another member's (needs sessions.manage). " +
				"A user of another organization has none.",
			query: []oaParameter{{Name: "user", In: "query", Schema: oaString(""),
				Description: "A member's id; default: the caller. Another member needs sessions.manage."}},
			answers: []opAnswer{oaOK(200, "The sessions, oldest first.", oaRef("SessionList"))},
		},
		"DELETE /api/v1/sessions/{id}": {
			id: "revokeSession", tag: tagSessions, summary: "Revoke a session",
			description: "Ends one session: the caller's own, or with sessions.manage any member's. A session the " +
				"caller may not revoke, or of another organization, is not found.",
			params:  idParam("session"),
			answers: []opAnswer{oaOK(204, "Revoked.", nil)},
			errors:  []int{404},
		},
		"POST /api/v1/sessions/revoke-all": {
			id: "revokeAllSessions", tag: tagSessions, summary: "Revoke every session of a user",
			description: "Ends every session of the caller (default) or, with sessions.manage, of another member; " +
				"`keep_current` spares the session making the request. The body is required but may be `{}`.",
			body:    oaRef("RevokeAllSessionsRequest"),
			answers: []opAnswer{oaOK(200, "How many sessions were ended.", oaRef("RevokeAllSessionsResult"))},
		},

		"GET /api/v1/policy/password": {
			id: "getPasswordPolicy", tag: tagPolicy, summary: "Read the password policy",
			description: "Any member may read it (sign-up and password forms show the rules).",
			answers:     []opAnswer{oaOK(200, "The policy.", oaRef("PasswordPolicy"))},
		},
		"PUT /api/v1/policy/password": {
			id: "setPasswordPolicy", tag: tagPolicy, summary: "Replace the password policy",
			description: "Replaces the whole policy: send every field. A policy below the NIST SP 800-63B floor is " +
				"refused with every problem listed in `details.violations`.",
			permissions: []authz.Permission{authz.PolicyManage},
			body:        oaRef("PasswordPolicy"),
			answers:     []opAnswer{oaOK(200, "The policy now in force.", oaRef("PasswordPolicy"))},
		},

		"POST /api/v1/collections": {
			id: "createCollection", tag: tagRecords, summary: "Create a collection",
			description: "A named collection of JSON records, optionally validated by a JSON Schema; up to 8 top-level " +
				"string or number fields may be declared indexed for exact-match search (stored as keyed blind indexes).",
			permissions: []authz.Permission{authz.CollectionsManage},
			body:        oaRef("CollectionRequest"),
			answers:     []opAnswer{oaOK(201, "The collection.", oaRef("Collection"))},
			errors:      []int{409},
		},
		"GET /api/v1/collections": {
			id: "listCollections", tag: tagRecords, summary: "List collections",
			description: "Every collection for collections.manage holders, otherwise those whose records the caller can read.",
			answers:     []opAnswer{oaOK(200, "The collections.", oaRef("CollectionList"))},
		},
		"GET /api/v1/collections/{name}": {
			id: "getCollection", tag: tagRecords, summary: "Get a collection",
			permissions: []authz.Permission{authz.RecordsRead},
			params:      map[string]string{"name": "The collection's name."},
			answers:     []opAnswer{oaOK(200, "The collection.", oaRef("Collection"))},
			errors:      []int{404},
		},
		"DELETE /api/v1/collections/{name}": {
			id: "deleteCollection", tag: tagRecords, summary: "Delete an empty collection",
			description: "Only an empty collection can be deleted (409 otherwise): records are deleted one by one, each audited.",
			permissions: []authz.Permission{authz.CollectionsManage},
			params:      map[string]string{"name": "The collection's name."},
			answers:     []opAnswer{oaOK(204, "Deleted.", nil)},
			errors:      []int{404, 409},
		},
		"POST /api/v1/collections/{name}/records": {
			id: "createRecord", tag: tagRecords, summary: "Create a record",
			description: "The body is the record's data: one JSON object (at most 1 MiB), validated against the " +
				"collection's schema. It is stored encrypted, bound to its organization, collection, id and version.",
			permissions: []authz.Permission{authz.RecordsWrite},
			params:      map[string]string{"name": "The collection's name."},
			body:        oaRef("RecordData"),
			answers:     []opAnswer{{status: 201, description: "The record.", body: oaRef("Record"), headers: etagHeader()}},
			errors:      []int{404, 422},
		},
		"GET /api/v1/collections/{name}/records": {
			id: "listRecords", tag: tagRecords, summary: "List records",
			description: "Oldest first, one page at a time. Filter with `where[field]=value` on the collection's " +
				"indexed fields (exact match; several filters must all hold).",
			permissions: []authz.Permission{authz.RecordsRead},
			params:      map[string]string{"name": "The collection's name."},
			query: []oaParameter{
				{Name: "limit", In: "query", Schema: &oaSchema{Type: "integer", Minimum: oaInt64(1), Maximum: oaInt64(200)},
					Description: "Records per page (default 50)."},
				{Name: "cursor", In: "query", Schema: oaString(""), Description: "The `next_cursor` of the previous page."},
			},
			answers: []opAnswer{oaOK(200, "One page of records.", oaRef("RecordPage"))},
			errors:  []int{404},
		},
		"GET /api/v1/collections/{name}/records/{id}": {
			id: "getRecord", tag: tagRecords, summary: "Get a record",
			description: "Answers with an `ETag` holding the version, for `If-Match` on later writes.",
			permissions: []authz.Permission{authz.RecordsRead},
			params:      map[string]string{"name": "The collection's name.", "id": "The record's id."},
			answers:     []opAnswer{{status: 200, description: "The record.", body: oaRef("Record"), headers: etagHeader()}},
			errors:      []int{404},
		},
		"PUT /api/v1/collections/{name}/records/{id}": {
			id: "replaceRecord", tag: tagRecords, summary: "Replace a record",
			description: "Replaces the data; with `If-Match: \"<version>\"` only if the record is still at that version (412 otherwise).",
			permissions: []authz.Permission{authz.RecordsWrite},
			params:      map[string]string{"name": "The collection's name.", "id": "The record's id."},
			body:        oaRef("RecordData"),
			answers:     []opAnswer{{status: 200, description: "The record's new version.", body: oaRef("Record"), headers: etagHeader()}},
			errors:      []int{404, 412, 422},
		},
		"PATCH /api/v1/collections/{name}/records/{id}": {
			id: "patchRecord", tag: tagRecords, summary: "Patch a record (JSON merge patch)",
			description: "Applies an RFC 7386 merge patch (`null` deletes a field); the result is validated against the " +
				"schema. `If-Match` as for PUT.",
			permissions: []authz.Permission{authz.RecordsWrite},
			params:      map[string]string{"name": "The collection's name.", "id": "The record's id."},
			body:        oaRef("RecordData"),
			answers:     []opAnswer{{status: 200, description: "The record's new version.", body: oaRef("Record"), headers: etagHeader()}},
			errors:      []int{404, 412, 422},
		},
		"DELETE /api/v1/collections/{name}/records/{id}": {
			id: "deleteRecord", tag: tagRecords, summary: "Delete a record",
			description: "With `If-Match`, only if the record is still at that version.",
			permissions: []authz.Permission{authz.RecordsWrite},
			params:      map[string]string{"name": "The collection's name.", "id": "The record's id."},
			answers:     []opAnswer{oaOK(204, "Deleted.", nil)},
			errors:      []int{400, 404, 412},
		},

		"POST /api/v1/secrets": {
			id: "createSecret", tag: tagSecrets, summary: "Store a credential",
			description: "Stores a password, API key or OAuth token for another service, encrypted with the organization's " +
				"key and bound to the secret's id and version. The answer is metadata only: the value is never shown " +
				"again to people. `metadata` is NOT secret (stored in clear, shown to every holder of secrets.manage): " +
				"field names or values that look like credentials are refused. A name is unique among the organization's " +
				"secrets that are not revoked (409).",
			permissions: []authz.Permission{authz.SecretsManage},
			body:        oaRef("SecretRequest"),
			answers:     []opAnswer{oaOK(201, "The secret's metadata (never its value).", oaRef("Secret"))},
			errors:      []int{409},
		},
		"GET /api/v1/secrets": {
			id: "listSecrets", tag: tagSecrets, summary: "List credentials (metadata only)",
			description: "Oldest first, one page at a time; revoked and expired secrets included unless `status` filters them. " +
				"Never any value.",
			permissions: []authz.Permission{authz.SecretsManage},
			query: []oaParameter{
				{Name: "status", In: "query", Schema: oaEnum("", secrets.StatusActive, secrets.StatusExpired, secrets.StatusRevoked),
					Description: "Only secrets in this state."},
				{Name: "limit", In: "query", Schema: &oaSchema{Type: "integer", Minimum: oaInt64(1), Maximum: oaInt64(secrets.MaxLimit)},
					Description: "Secrets per page (default 50)."},
				{Name: "cursor", In: "query", Schema: oaString(""), Description: "The `next_cursor` of the previous page."},
			},
			answers: []opAnswer{oaOK(200, "One page of secrets' metadata.", oaRef("SecretPage"))},
			errors:  []int{400},
		},
		"GET /api/v1/secrets/{id}": {
			id: "getSecret", tag: tagSecrets, summary: "Get a credential's metadata",
			description: "Metadata only, also for a revoked or expired secret; never the value.",
			permissions: []authz.Permission{authz.SecretsManage},
			params:      idParam("secret"),
			answers:     []opAnswer{oaOK(200, "The secret's metadata.", oaRef("Secret"))},
			errors:      []int{404},
		},
		"PUT /api/v1/secrets/{id}/value": {
			id: "rotateSecret", tag: tagSecrets, summary: "Give a credential a new value",
			description: "Stores a new value of the secret's type as a new version; the old ciphertext is overwritten. " +
				"`expires_at` replaces the expiry; an expired secret needs one to be renewed.",
			permissions: []authz.Permission{authz.SecretsManage},
			params:      idParam("secret"),
			body:        oaRef("SecretValueRequest"),
			answers: []opAnswer{oaOK(200, "The secret's new metadata (never its value).", oaRef("Secret")),
				{status: 410, description: "The secret was revoked (its value destroyed), or expired and no new `expires_at` was given.", body: oaRef("Error")}},
			errors: []int{404, 409},
		},
		"PUT /api/v1/secrets/{id}/metadata": {
			id: "updateSecretMetadata", tag: tagSecrets, summary: "Replace a credential's metadata",
			description: "Replaces the whole metadata object (send `{}` to clear it); the value and version do not change. " +
				"Metadata is NOT secret: credential-like names and values are refused. A revoked secret keeps the metadata " +
				"it had (410).",
			permissions: []authz.Permission{authz.SecretsManage},
			params:      idParam("secret"),
			body:        oaRef("SecretMetadataRequest"),
			answers: []opAnswer{oaOK(200, "The secret's metadata.", oaRef("Secret")),
				{status: 410, description: "The secret was revoked.", body: oaRef("Error")}},
			errors: []int{404, 409},
		},
		"POST /api/v1/secrets/{id}/reveal": {
			id: "revealSecret", tag: tagSecrets, summary: "Read a credential's value (services only)",
			description: "Answers the value to a non-interactive caller holding secrets.use: an API token or OAuth client " +
				"(`Authorization: Bearer`). A signed-in session is refused (403), whatever its roles: values are " +
				"write-only for people. `purpose` (1 to 200 characters) is required and written to the audit log as " +
				"`secret.reveal`, with the secret's id and version, never the value; refused reads of an existing secret " +
				"are audited too. The answer has `Cache-Control: no-store`. Prefer the API gateway, which injects the " +
				"value into the upstream call so it never leaves the platform.",
			permissions: []authz.Permission{authz.SecretsUse},
			params:      idParam("secret"),
			body:        oaRef("SecretRevealRequest"),
			answers: []opAnswer{{status: 200, description: "The value.", body: oaRef("SecretValue"),
				headers: map[string]oaHeader{"Cache-Control": {Description: "`no-store`: no cache may keep the value.", Schema: oaString("")}}},
				{status: 410, description: "The secret was revoked (its value destroyed) or has expired: it can never be read again.", body: oaRef("Error")}},
			errors: []int{404},
		},
		"DELETE /api/v1/secrets/{id}": {
			id: "revokeSecret", tag: tagSecrets, summary: "Revoke a credential",
			description: "Destroys the value at once: the ciphertext is erased in the same transaction that marks the " +
				"secret revoked and writes `secret.revoke` to the audit log, and a tombstone makes a restore of an older " +
				"backup erase it again. The metadata stays (status `revoked`) and the name is free for a replacement. " +
				"Reveal and new values then answer 410.",
			permissions: []authz.Permission{authz.SecretsManage},
			params:      idParam("secret"),
			answers: []opAnswer{oaOK(200, "The revoked secret's metadata.", oaRef("Secret")),
				{status: 410, description: "The secret was already revoked.", body: oaRef("Error")}},
			errors: []int{404},
		},

		"POST /api/v1/clients": {
			id: "createClient", tag: tagClients, summary: "Register an OAuth client",
			description: "Registers a client in the caller's organization. With `redirect_uris` it defaults to the " +
				"authorization code flow (with refresh tokens), without to `client_credentials`. Redirect URIs are matched " +
				"exactly and must be https (http only on a loopback address). A public client has no secret and must use " +
				"PKCE with S256; a first-party client skips the consent screen. The secret of a confidential client is in " +
				"this answer only: it is stored as a hash. Written to the audit log as `oauth.client.create`.",
			permissions: []authz.Permission{authz.ClientsManage},
			body:        oaRef("ClientRequest"),
			answers:     []opAnswer{oaOK(201, "The client and, for a confidential client, its secret (shown once).", oaRef("ClientCreated"))},
			errors:      []int{400},
		},
		"GET /api/v1/clients": {
			id: "listClients", tag: tagClients, summary: "List OAuth clients",
			description: "Every client of the organization, revoked ones included, oldest first; never a secret.",
			permissions: []authz.Permission{authz.ClientsManage},
			answers:     []opAnswer{oaOK(200, "The clients.", oaRef("ClientList"))},
		},
		"GET /api/v1/clients/{id}": {
			id: "getClient", tag: tagClients, summary: "Get an OAuth client",
			permissions: []authz.Permission{authz.ClientsManage},
			params:      idParam("client"),
			answers:     []opAnswer{oaOK(200, "The client.", oaRef("Client"))},
			errors:      []int{404},
		},
		"DELETE /api/v1/clients/{id}": {
			id: "revokeClient", tag: tagClients, summary: "Revoke an OAuth client",
			description: "Disables the client: it can no longer authenticate, and its refresh and access tokens stop working " +
				"at once (the gateway and introspection check). Written to the audit log as `oauth.client.revoke`.",
			permissions: []authz.Permission{authz.ClientsManage},
			params:      idParam("client"),
			answers:     []opAnswer{oaOK(200, "The revoked client.", oaRef("Client"))},
			errors:      []int{404},
		},

		"POST /api/v1/clients/registration-tokens": {
			id: "createRegistrationToken", tag: tagClients, summary: "Make an initial access token for client registration",
			description: "An RFC 7591 initial access token for the caller's organization: whoever holds it may register one " +
				"client at `POST /oauth/register` (Authorization: Bearer), with the standard OpenID scopes and at most the " +
				"`scopes` listed here. Single use, expires after `expires_in_seconds` (at most 7 days); the token is in this " +
				"answer only. Written to the audit log as `oauth.registration_token.create`.",
			permissions: []authz.Permission{authz.ClientsManage},
			body:        oaRef("RegistrationTokenRequest"),
			answers:     []opAnswer{oaOK(201, "The token (shown once).", oaRef("RegistrationToken"))},
			errors:      []int{400},
		},
		"GET /api/v1/audit": {
			id: "searchAudit", tag: tagAudit, summary: "Search the audit log",
			description: "The organization's audit entries, newest first, one page at a time: pass `next_cursor` " +
				"back as `cursor` for the next page.",
			permissions: []authz.Permission{authz.AuditRead},
			query: []oaParameter{
				{Name: "action", In: "query", Schema: &oaSchema{Type: "string", MaxLength: oaInt(100)},
					Description: "An exact action, or a prefix ending in \".\" (\"auth.\")."},
				{Name: "actor", In: "query", Schema: &oaSchema{Type: "string", MaxLength: oaInt(200)},
					Description: "An exact actor, such as `user:<id>`."},
				{Name: "since", In: "query", Schema: oaTime(""), Description: "Only entries at or after this RFC 3339 time."},
				{Name: "until", In: "query", Schema: oaTime(""), Description: "Only entries before this RFC 3339 time."},
				{Name: "cursor", In: "query", Schema: &oaSchema{Type: "string", Pattern: "^[1-9][0-9]*$"},
					Description: "The `next_cursor` of the previous page."},
				{Name: "limit", In: "query", Schema: &oaSchema{Type: "integer", Minimum: oaInt64(1), Maximum: oaInt64(200)},
					Description: "Entries per page (default 50)."},
			},
			answers: []opAnswer{oaOK(200, "One page of entries.", oaRef("AuditPage"))},
			errors:  []int{400},
		},

		"POST /api/v1/files":          uploadFileDoc(),
		"GET /api/v1/files":           listFilesDoc(),
		"GET /api/v1/files/{id}":      downloadFileDoc(),
		"GET /api/v1/files/{id}/meta": fileMetaDoc(),
		"DELETE /api/v1/files/{id}":   deleteFileDoc(),

		"POST /api/v1/kyc/verifications": verifyIdentityDoc(),

		"POST /api/v1/invites": {
			id: "createInvite", tag: tagInvites, summary: "Invite someone by email",
			description: "Mails a single-use link, valid for " + strconv.Itoa(int(identity.InviteTTL.Hours()/24)) + " days, that " +
				"creates the member with the given roles (default member). The caller must hold every permission of " +
				"the roles it offers. A newer invitation to the same address replaces older pending ones. When the " +
				"mail cannot be sent the invitation is withdrawn (503).",
			permissions: []authz.Permission{authz.MembersManage},
			body:        oaRef("InviteRequest"),
			answers:     []opAnswer{oaOK(201, "Invited; the link went out by mail and is never shown here.", oaRef("InviteCreated"))},
			errors:      []int{409},
		},
		"GET /api/v1/invites": {
			id: "listInvites", tag: tagInvites, summary: "List pending invitations",
			description: "Invitations not yet accepted and not expired; never their tokens.",
			permissions: []authz.Permission{authz.MembersRead},
			answers:     []opAnswer{oaOK(200, "The invitations.", oaRef("InviteList"))},
		},
		"DELETE /api/v1/invites/{id}": {
			id: "revokeInvite", tag: tagInvites, summary: "Withdraw an invitation",
			description: "The link stops working at once. The caller must hold every permission of the roles it offered.",
			permissions: []authz.Permission{authz.MembersManage},
			params:      idParam("invitation"),
			answers:     []opAnswer{oaOK(204, "Withdrawn.", nil)},
			errors:      []int{404},
		},
		"POST /api/v1/invites/accept": {
			id: "acceptInvite", tag: tagInvites, summary: "Accept an invitation",
			description: "Redeems the token from the invitation link with a password (checked against the organization's " +
				"policy), creates the member and signs them in. An unknown, used or expired token is a 400 saying which. " +
				"Cross-origin requests are refused (403) so another site cannot make a browser redeem a link.",
			body: oaRef("TokenPasswordRequest"),
			answers: []opAnswer{{status: 200, description: "The member exists and is signed in.", body: oaRef("Welcome"),
				headers: oaSetCookie("The `" + SessionCookie + "` session cookie.")}},
			errors: []int{403, 409},
		},

		"POST /api/v1/auth/password-reset": {
			id: "requestPasswordReset", tag: tagAuth, summary: "Ask for a password reset link",
			description: "Mails a single-use link, valid for " + strconv.Itoa(int(identity.ResetTTL.Minutes())) + " minutes, to " +
				"the active member with this email in this organization. The answer and its timing are the same whether " +
				"or not the account exists. Repeated requests are throttled (429). Cross-origin requests are refused (403).",
			body:    oaRef("PasswordResetRequest"),
			answers: []opAnswer{oaOK(202, "Accepted; a mail goes out if the account exists.", oaRef("PasswordResetRequested"))},
			errors:  []int{403, 429},
		},
		"POST /api/v1/auth/password-reset/confirm": {
			id: "confirmPasswordReset", tag: tagAuth, summary: "Set a new password with a reset link",
			description: "Redeems the token from the reset link: sets the password (checked against the organization's " +
				"policy), signs out every session of the member and clears the login lockout. It does not sign in. An " +
				"unknown, used or expired token is a 400 saying which. Cross-origin requests are refused (403).",
			body:    oaRef("TokenPasswordRequest"),
			answers: []opAnswer{oaOK(200, "Password changed.", oaRef("PasswordResetDone"))},
			errors:  []int{403},
		},

		"POST /api/v1/bootstrap": {
			id: "bootstrap", tag: tagPlatform, summary: "Claim the instance: create the first operator",
			description: "Redeems the one-time bootstrap token printed at first start: creates the `" + identity.PlatformOrgSlug +
				"` organization and, in it, the first platform operator (role owner), and signs them in. 409 once an " +
				"operator exists. Cross-origin requests are refused (403).",
			body: oaRef("BootstrapRequest"),
			answers: []opAnswer{{status: 201, description: "The operator exists and is signed in.", body: oaRef("Welcome"),
				headers: oaSetCookie("The `" + SessionCookie + "` session cookie.")}},
			errors: []int{403, 409},
		},
		"POST /api/v1/organizations": {
			id: "createOrganization", tag: tagPlatform, summary: "Create an organization",
			description: "Platform operators only: owners and admins of the `" + identity.PlatformOrgSlug + "` organization " +
				"whose credential holds members.manage (403 for anyone else, checked before the body is read). Creates " +
				"the tenant with its keys, as `rampart admin org create` does. 503 when the server cannot create " +
				"organizations.",
			permissions: []authz.Permission{authz.MembersManage},
			body:        oaRef("OrganizationRequest"),
			answers:     []opAnswer{oaOK(201, "The organization.", oaRef("Organization"))},
			errors:      []int{409},
		},
		"DELETE /api/v1/organizations/{id}": {
			id: "deleteOrganization", tag: tagPlatform, summary: "Confirm an organization's deletion (crypto-shredding)",
			description: "Platform operators only (403 for anyone else, checked before the body is read). An owner of the " +
				"organization must have requested the deletion first (412 otherwise); `confirm` repeats its slug. Destroys " +
				"the organization's keysets, so every copy of its ciphertext, backups included, becomes unreadable; deletes " +
				"every row it has (members, sessions, records, files, credentials, its audit chain) and keeps a tombstone " +
				"that a restore applies before serving. The deletion is recorded in the platform audit chain. The " +
				"`platform` organization cannot be deleted. Same as `rampart admin org delete`.",
			permissions: []authz.Permission{authz.MembersManage},
			params:      idParam("organization (id or slug)"),
			body:        oaRef("ConfirmRequest"),
			answers:     []opAnswer{oaOK(200, "Deleted.", oaRef("OrgDeletion"))},
			errors:      []int{404, 412},
		},
		"POST /api/v1/organization/deletion": {
			id: "requestOrgDeletion", tag: tagPlatform, summary: "Ask for the caller's organization to be deleted",
			description: "An owner's request (org.delete); `confirm` must be the organization's slug. Nothing is deleted " +
				"until a platform operator confirms it (DELETE /api/v1/organizations/{id}); until then it can be withdrawn. " +
				"409 when a request is already pending.",
			permissions: []authz.Permission{authz.OrgDelete},
			body:        oaRef("ConfirmRequest"),
			answers:     []opAnswer{oaOK(202, "Requested; waiting for an operator.", oaRef("OrgDeletionRequest"))},
			errors:      []int{409},
		},
		"GET /api/v1/organization/deletion": {
			id: "getOrgDeletion", tag: tagPlatform, summary: "The caller's organization's pending deletion request",
			description: "404 when none is pending.",
			permissions: []authz.Permission{authz.OrgDelete},
			answers:     []opAnswer{oaOK(200, "The pending request.", oaRef("OrgDeletionRequest"))},
			errors:      []int{404},
		},
		"DELETE /api/v1/organization/deletion": {
			id: "cancelOrgDeletion", tag: tagPlatform, summary: "Withdraw the pending deletion request",
			description: "404 when none is pending.",
			permissions: []authz.Permission{authz.OrgDelete},
			answers:     []opAnswer{oaOK(204, "Withdrawn.", nil)},
			errors:      []int{404},
		},
	}
}

// oaSystemRoute is an operation that NewHandler serves outside the route
// table; all are public.
type oaSystemRoute struct {
	method, path string
	doc          opDoc
}

func oaSystemRoutes() []oaSystemRoute {
	return []oaSystemRoute{
		{"GET", "/healthz", opDoc{
			id: "health", tag: tagSystem, summary: "Liveness",
			description: "Answers while the process serves requests; checks nothing else.",
			answers:     []opAnswer{oaOK(200, "Alive.", oaRef("Health"))},
		}},
		{"GET", "/readyz", opDoc{
			id: "ready", tag: tagSystem, summary: "Readiness",
			description: "Runs every readiness check (database, key provider) and names the ones that fail.",
			answers: []opAnswer{
				oaOK(200, "Every check passed.", oaRef("Readiness")),
				oaOK(503, "At least one check failed.", oaRef("Readiness")),
			},
		}},
		{"GET", "/.well-known/security.txt", opDoc{
			id: "securityTxt", tag: tagSystem, summary: "Vulnerability disclosure policy (RFC 9116)",
			answers: []opAnswer{{status: 200, description: "The security.txt file.", body: oaString(""), contentType: "text/plain"}},
		}},
		{"GET", openAPIPath, opDoc{
			id: "openAPI", tag: tagSystem, summary: "This document",
			description: "The OpenAPI 3.1 description of the whole API; `info.version` is the server's build version.",
			answers:     []opAnswer{oaOK(200, "The OpenAPI document.", &oaSchema{Type: "object"})},
		}},
	}
}

// openAPIDocument builds the document for a build version.
func openAPIDocument(version string) oaDocument {
	doc := oaDocument{
		OpenAPI: "3.1.0",
		Info: oaInfo{
			Title:   "Rampart API",
			Version: version,
			Description: "Rampart's JSON API. Authenticate with the `" + SessionCookie + "` session cookie that " +
				"POST /api/v1/auth/login sets, or with a personal API token as `Authorization: Bearer <token>`. " +
				"Request bodies are JSON objects of at most 1 MiB; unknown fields are refused. Every error answers " +
				"`{\"error\":{\"code\",\"message\",\"details\",\"request_id\"}}`.",
		},
		Tags:       openAPITags(),
		Paths:      map[string]oaPathItem{},
		Components: openAPIComponents(),
	}
	docs := operationDocs()
	for _, rt := range apiRoutes() {
		d, found := docs[rt.method+" "+rt.path]
		if !found {
			// openapi_test.go fails on this; the operation is still listed,
			// so the document never hides an endpoint.
			d = opDoc{id: strings.ToLower(rt.method) + strings.NewReplacer("/", "_", "{", "", "}", "").Replace(rt.path),
				summary: "Not yet documented"}
		}
		doc.add(rt.method, rt.path, rt.auth, d, true)
	}
	for _, s := range oaSystemRoutes() {
		doc.add(s.method, s.path, public, s.doc, false)
	}
	return doc
}

// add documents one operation; inTable says it is in the route table, so it
// touches the database.
func (doc *oaDocument) add(method, pattern string, auth authMode, d opDoc, inTable bool) {
	path, names := openAPIPathOf(pattern)
	op := &oaOperation{
		OperationID: d.id,
		Summary:     d.summary,
		Description: d.description,
		Tags:        []string{},
		Security:    oaSecurityOf(auth, d.permissions),
		Responses:   map[string]oaResponse{},
	}
	if d.tag != "" {
		op.Tags = append(op.Tags, d.tag)
	}
	if auth == enrol {
		op.Description = strings.TrimSpace(op.Description + " Also open to a session that must enrol in two-factor authentication first.")
	}
	for _, n := range names {
		op.Parameters = append(op.Parameters, oaParameter{Name: n, In: "path", Required: true, Schema: oaString(""), Description: d.params[n]})
	}
	op.Parameters = append(op.Parameters, d.query...)
	if d.body != nil {
		op.RequestBody = &oaRequestBody{Required: true, Content: map[string]oaMediaType{"application/json": {Schema: d.body}}}
	}
	if d.bodyContent != nil {
		op.RequestBody = &oaRequestBody{Required: true, Content: map[string]oaMediaType{}}
		for ct, schema := range d.bodyContent {
			op.RequestBody.Content[ct] = oaMediaType{Schema: schema}
		}
	}
	for _, a := range d.answers {
		r := oaResponse{Description: a.description, Headers: a.headers}
		if a.body != nil {
			ct := a.contentType
			if ct == "" {
				ct = "application/json"
			}
			r.Content = map[string]oaMediaType{ct: {Schema: a.body}}
		}
		op.Responses[strconv.Itoa(a.status)] = r
	}
	for _, status := range oaErrorStatuses(method, auth, d, inTable) {
		if _, taken := op.Responses[strconv.Itoa(status)]; !taken {
			op.Responses[strconv.Itoa(status)] = oaResponse{Ref: "#/components/responses/" + oaErrorResponseName(status)}
		}
	}
	item := doc.Paths[path]
	if item == nil {
		item = oaPathItem{}
		doc.Paths[path] = item
	}
	item[strings.ToLower(method)] = op
}

// errorStatuses are the error statuses of an operation: those its shape
// implies plus those its doc names, in ascending order.
func oaErrorStatuses(method string, auth authMode, d opDoc, inTable bool) []int {
	set := map[int]bool{}
	for _, s := range d.errors {
		set[s] = true
	}
	if d.body != nil || d.bodyContent != nil {
		set[http.StatusBadRequest] = true // decode refuses bad JSON and unknown fields
	}
	if auth != public {
		set[http.StatusUnauthorized] = true // no or bad credential
		set[http.StatusForbidden] = true    // missing permission, 2FA enrolment pending
	}
	if inTable && method != http.MethodGet {
		set[http.StatusForbidden] = true // cross-origin browser request (CSRF), refused on every unsafe route
	}
	if auth == pending {
		set[http.StatusConflict] = true // the session is not waiting for a second factor
	}
	if inTable {
		set[http.StatusInternalServerError] = true
		set[http.StatusServiceUnavailable] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// securityOf is the security requirement of an operation: none for a
// public one, the session cookie only for the second-factor step (a token
// is never waiting for one), else the cookie or a bearer token.
func oaSecurityOf(auth authMode, perms []authz.Permission) []oaSecurity {
	names := make([]string, 0, len(perms))
	for _, p := range perms {
		names = append(names, string(p))
	}
	switch auth {
	case public:
		return []oaSecurity{}
	case pending:
		return []oaSecurity{{schemeSession: names}}
	}
	return []oaSecurity{{schemeSession: names}, {schemeBearer: names}}
}

// openAPIPathOf turns a ServeMux pattern path into an OpenAPI path and the
// names of its parameters: "{id}" stays, "{rest...}" becomes "{rest}" and
// "{$}" (end of path) is dropped.
func openAPIPathOf(pattern string) (string, []string) {
	var names []string
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}"), "...")
		if name == "$" {
			segs[i] = ""
			continue
		}
		segs[i] = "{" + name + "}"
		names = append(names, name)
	}
	return strings.Join(segs, "/"), names
}

// errorResponseName names the shared response of an error status:
// "NotFound", "TooManyRequests".
func oaErrorResponseName(status int) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(http.StatusText(status))
}

// errorCodes maps each status that writeError produces to the error codes
// it may carry, from the same table writeError uses.
func oaErrorCodes() map[int][]string {
	codes := map[int][]string{}
	for kind, status := range statusOf {
		codes[status] = append(codes[status], kind.String())
	}
	codes[http.StatusBadRequest] = append(codes[http.StatusBadRequest], "password_policy")
	for s := range codes {
		slices.Sort(codes[s])
	}
	return codes
}

// errorMeaning says when Rampart answers an error status.
func oaErrorMeaning(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "The request is malformed or breaks a rule: bad JSON, an unknown or mistyped field, a bad " +
			"parameter (code `invalid`), or a password or policy that breaks the rules (code `password_policy`, " +
			"every broken rule in `details.violations`)."
	case http.StatusUnauthorized:
		return "Not signed in, the session or token is unknown or expired, the session still needs its second " +
			"factor, or the credential presented (password, code) is wrong."
	case http.StatusForbidden:
		return "The caller lacks a permission, a cookie-authenticated request came from another origin (CSRF), " +
			"or the organization requires two-factor enrolment first."
	case http.StatusNotFound:
		return "No such thing in the caller's organization (another organization's ids are never found)."
	case http.StatusConflict:
		return "The request conflicts with the current state (already exists, already enabled, the last owner)."
	case http.StatusGone:
		return "The organization's keys were destroyed; its data is gone for good."
	case http.StatusUnprocessableEntity:
		return "Well-formed data that breaks the collection's JSON Schema; the message names the field (as a JSON " +
			"pointer) and the rule."
	case http.StatusTooManyRequests:
		return "Too many failed attempts: locked out for the seconds in Retry-After."
	case http.StatusInternalServerError:
		return "An unexpected error; quote `request_id` when reporting it. The message is deliberately generic."
	case http.StatusServiceUnavailable:
		return "A dependency (database, key provider) cannot be reached; retry later."
	}
	return http.StatusText(status) + "."
}

func openAPIComponents() oaComponents {
	schemas := openAPISchemas()
	maps.Copy(schemas, kycSchemas())
	c := oaComponents{
		Schemas:   schemas,
		Responses: map[string]oaResponse{},
		SecuritySchemes: map[string]oaSecurityScheme{
			schemeSession: {Type: "apiKey", In: "cookie", Name: SessionCookie,
				Description: "The session cookie set by POST /api/v1/auth/login. Unsafe requests (POST, PUT, " +
					"DELETE) authenticated by the cookie must be same-origin: browsers' Sec-Fetch-Site / Origin " +
					"headers are checked (CSRF protection)."},
			schemeBearer: {Type: "http", Scheme: "bearer", BearerFormat: "rpt_...",
				Description: "A personal API token from POST /api/v1/me/tokens, limited to its permissions."},
		},
	}
	for status, codes := range oaErrorCodes() {
		headers := map[string]oaHeader{
			"X-Request-Id": {Description: "The request id, also in the body and the server's log.", Schema: oaString("")},
		}
		switch status {
		case http.StatusUnauthorized:
			headers["WWW-Authenticate"] = oaHeader{Description: "`Bearer realm=\"rampart\"`.", Schema: oaString("")}
		case http.StatusTooManyRequests:
			headers["Retry-After"] = oaHeader{Description: "Seconds until the lockout ends.", Schema: &oaSchema{Type: "integer", Minimum: oaInt64(1)}}
		}
		code := oaEnum("")
		for _, c := range codes {
			code.Enum = append(code.Enum, c)
		}
		c.Responses[oaErrorResponseName(status)] = oaResponse{
			Description: oaErrorMeaning(status),
			Headers:     headers,
			Content: map[string]oaMediaType{"application/json": {Schema: &oaSchema{AllOf: []*oaSchema{
				oaRef("Error"),
				{Properties: oaProps{"error": {Properties: oaProps{"code": code}}}},
			}}}},
		}
	}
	return c
}

// permissionSchema is the catalogue of permissions, from authz.
func oaPermissionSchema() *oaSchema {
	var b strings.Builder
	b.WriteString("A permission from the fixed catalogue:")
	s := oaEnum("")
	for _, p := range authz.Catalogue() {
		s.Enum = append(s.Enum, string(p.Name))
		fmt.Fprintf(&b, "\n- `%s`: %s", p.Name, p.Description)
	}
	s.Description = b.String()
	return s
}

func openAPISchemas() map[string]*oaSchema {
	uuid := func(desc string) *oaSchema { return oaFormat("uuid", desc) }
	code := oaString("A 6-digit TOTP code, or (where a second factor is asked) an unused recovery code.")
	policyInt := func(desc string, lo, hi int64) *oaSchema {
		return &oaSchema{Type: "integer", Description: desc, Minimum: oaInt64(lo), Maximum: oaInt64(hi)}
	}
	return map[string]*oaSchema{
		"Error": oaObject("Every error response.", oaProps{
			"error": oaObject("", oaProps{
				"code":    oaString("Stable snake_case code: the error kind, or `password_policy`. Clients match on it, never on the message."),
				"message": oaString("A human sentence, safe to show."),
				"details": {Type: "object", Description: "Structured details, present for some codes.", Properties: oaProps{
					"violations": oaArray(oaRef("PasswordViolation"), "For `password_policy`: every broken rule."),
				}},
				"request_id": oaString("The request's id, as in the X-Request-Id header and the server's log."),
			}, "code", "message", "request_id"),
		}, "error"),
		"PasswordViolation": oaObject("One broken password-policy rule.", oaProps{
			"rule": oaEnum("The rule's stable name.", password.RuleMinLength, password.RuleMaxLength, password.RuleLowercase,
				password.RuleUppercase, password.RuleDigit, password.RuleSymbol, password.RuleCommon, password.RuleEmail, password.RuleMaxAge),
			"message": oaString("A sentence for people."),
		}, "rule", "message"),
		"Permission": oaPermissionSchema(),

		"LoginRequest": oaObject("", oaProps{
			"organization": oaString("The organization's slug."),
			"email":        oaString(""),
			"password":     oaString(""),
		}, "organization", "email", "password"),
		"LoginResult": oaObject("", oaProps{
			"mfa_required":           oaBool("The session waits for POST /api/v1/auth/mfa."),
			"mfa_enrolment_required": oaBool("The organization requires 2FA and the user has none: the session can only enrol."),
		}, "mfa_required", "mfa_enrolment_required"),
		"CodeRequest": oaObject("", oaProps{"code": code}, "code"),
		"MFAResult": oaObject("", oaProps{
			"mfa_required": {Type: "boolean", Const: false},
		}, "mfa_required"),

		"Me": oaObject("The signed-in user.", oaProps{
			"id":           uuid("The user's id."),
			"email":        oaString(""),
			"organization": oaString("The organization's slug."),
			"roles":        oaArray(oaString(""), "Role names."),
			"permissions":  oaArray(oaRef("Permission"), "Effective permissions (narrowed by an API token's)."),
			"mfa_enabled":  oaBool(""),
		}, "id", "email", "organization", "roles", "permissions", "mfa_enabled"),
		"PasswordChangeRequest": oaObject("", oaProps{
			"current_password": oaString(""),
			"new_password":     oaString("Must satisfy the organization's policy."),
		}, "current_password", "new_password"),
		"TOTPEnrollment": oaObject("", oaProps{
			"otpauth_uri":   oaFormat("uri", "An otpauth://totp/ URI holding the secret."),
			"qr_png_base64": {Type: "string", ContentEncoding: "base64", ContentMediaType: "image/png", Description: "The URI as a QR code."},
		}, "otpauth_uri", "qr_png_base64"),
		"RecoveryCodes": oaObject("", oaProps{
			"recovery_codes": &oaSchema{Type: "array", Items: oaString(""), MinItems: oaInt(1), Description: "Single-use codes, shown this once."},
		}, "recovery_codes"),

		"APIToken": oaObject("A personal API token (never its value).", oaProps{
			"id":          uuid(""),
			"name":        oaString(""),
			"permissions": oaArray(oaRef("Permission"), ""),
			"created_at":  oaTime(""),
			"expires_at":  oaTime(""),
		}, "id", "name", "permissions", "created_at", "expires_at"),
		"APITokenList": oaList("APIToken", ""),
		"APITokenRequest": oaObject("", oaProps{
			"name":               &oaSchema{Type: "string", MinLength: oaInt(1), MaxLength: oaInt(100)},
			"permissions":        &oaSchema{Type: "array", Items: oaRef("Permission"), MinItems: oaInt(1)},
			"expires_in_seconds": &oaSchema{Type: "integer", Minimum: oaInt64(1), Description: "Lifetime; at most the server's maximum (default 365 days)."},
		}, "name", "permissions", "expires_in_seconds"),
		"APITokenCreated": oaObject("", oaProps{
			"id":          uuid(""),
			"token":       &oaSchema{Type: "string", Pattern: "^rpt_", Description: "The value, shown this once."},
			"name":        oaString(""),
			"permissions": oaArray(oaRef("Permission"), ""),
			"expires_at":  oaTime(""),
		}, "id", "token", "name", "permissions", "expires_at"),

		"Member": oaObject("A member of the organization.", oaProps{
			"id":                  uuid(""),
			"organization_id":     uuid(""),
			"email":               oaString(""),
			"status":              oaEnum("", identity.StatusActive, identity.StatusDisabled),
			"roles":               oaArray(oaString(""), "Role names."),
			"mfa_enabled":         oaBool(""),
			"created_at":          oaTime(""),
			"password_changed_at": oaTime(""),
		}, "id", "organization_id", "email", "status", "roles", "mfa_enabled", "created_at", "password_changed_at"),
		"MemberList": oaList("Member", ""),
		"CollectionRequest": oaObject("", oaProps{
			"name":           &oaSchema{Type: "string", Pattern: "^[a-z][a-z0-9_-]{0,62}$"},
			"schema":         &oaSchema{Type: "object", Description: "Optional JSON Schema (2020-12) the records must satisfy.", AdditionalProperties: true},
			"indexed_fields": oaArray(oaString(""), "Top-level string or number fields searchable by exact match (at most 8)."),
		}, "name"),
		"Collection": oaObject("A collection of records.", oaProps{
			"name":           oaString(""),
			"schema":         &oaSchema{Type: "object", AdditionalProperties: true},
			"indexed_fields": oaArray(oaString(""), ""),
			"created_at":     oaTime(""),
			"created_by":     oaString(""),
		}, "name", "indexed_fields", "created_at", "created_by"),
		"CollectionList": oaList("Collection", ""),
		"RecordData":     &oaSchema{Type: "object", Description: "The record's data: any JSON object.", AdditionalProperties: true},
		"Record": oaObject("A record.", oaProps{
			"id":         uuid(""),
			"collection": oaString(""),
			"version":    &oaSchema{Type: "integer", Minimum: oaInt64(1)},
			"created_at": oaTime(""),
			"updated_at": oaTime(""),
			"created_by": oaString(""),
			"data":       oaRef("RecordData"),
		}, "id", "collection", "version", "created_at", "updated_at", "created_by", "data"),
		"RecordPage": oaObject("One page of records.", oaProps{
			"items":       oaArray(oaRef("Record"), ""),
			"next_cursor": oaString("Pass back as `cursor` for the next page; absent on the last page."),
		}, "items"),
		"ClientRequest": oaObject("", oaProps{
			"name":          &oaSchema{Type: "string", MinLength: oaInt(1), MaxLength: oaInt(100), Description: "Shown on the consent screen."},
			"redirect_uris": oaArray(oaFormat("uri", ""), "Exact redirect URIs (at most 10): https, or http on a loopback address; no fragment."),
			"public":        oaBool("A browser or native app without a secret (PKCE S256 required)."),
			"first_party":   oaBool("The platform's own application: no consent screen."),
			"grant_types":   oaArray(oaEnum("", oidc.GrantAuthorizationCode, oidc.GrantRefreshToken, oidc.GrantClientCredentials), ""),
			"scopes":        oaArray(oaString(""), "Scopes the client may ask for besides openid, profile, email and offline_access."),
		}, "name"),
		"Client": oaObject("A registered OAuth client; never its secret.", oaProps{
			"id":              oaFormat("uuid", "The client_id."),
			"organization_id": oaFormat("uuid", ""),
			"name":            oaString(""),
			"public":          oaBool(""),
			"first_party":     oaBool(""),
			"redirect_uris":   oaArray(oaString(""), ""),
			"grant_types":     oaArray(oaString(""), ""),
			"scopes":          oaArray(oaString(""), ""),
			"created_at":      oaTime(""),
			"revoked_at":      oaTime("Present once revoked."),
		}, "id", "organization_id", "name", "public", "first_party", "redirect_uris", "grant_types", "scopes", "created_at"),
		"ClientCreated": oaObject("", oaProps{
			"client":        oaRef("Client"),
			"client_secret": oaString("Present for a confidential client, in this answer only."),
		}, "client"),
		"ClientList": oaObject("", oaProps{"items": oaArray(oaRef("Client"), "")}, "items"),
		"RegistrationTokenRequest": oaObject("", oaProps{
			"expires_in_seconds": &oaSchema{Type: "integer", Minimum: oaInt64(1), Maximum: oaInt64(int64(oidc.MaxRegistrationTokenTTL.Seconds()))},
			"scopes":             oaArray(oaString(""), "Custom scopes the registered client may have."),
		}, "expires_in_seconds"),
		"RegistrationToken": oaObject("", oaProps{
			"id":         oaFormat("uuid", ""),
			"token":      oaString("The initial access token (rit_...), shown once."),
			"scopes":     oaArray(oaString(""), ""),
			"expires_at": oaTime(""),
		}, "id", "token", "scopes", "expires_at"),
		"SecretRequest": oaObject("", oaProps{
			"name": &oaSchema{Type: "string", MinLength: oaInt(1), MaxLength: oaInt(secrets.MaxNameLength),
				Description: "Letters, digits, spaces and . _ - : / @, starting with a letter or digit."},
			"type":       oaRef("SecretType"),
			"value":      oaRef("SecretValueData"),
			"metadata":   oaRef("SecretMetadata"),
			"expires_at": oaTime("Optional, in the future: afterwards the value can no longer be read."),
		}, "name", "type", "value"),
		"SecretType": oaEnum("password and api_key take a JSON string; oauth_token a JSON object with at least access_token.",
			string(secrets.Password), string(secrets.APIKey), string(secrets.OAuthToken)),
		"SecretValueData": {Description: "A JSON string (password, api_key; at most 16 KiB) or, for oauth_token, an object with " +
			"`access_token` and optionally `refresh_token`, `token_type`, `expiry` (RFC 3339), `expires_in`, `scope` and other members."},
		"SecretMetadata": &oaSchema{Type: "object", Description: "NOT secret: facts such as description, username or url, stored in " +
			"clear and returned to every holder of secrets.manage. At most 32 fields of strings, numbers, booleans or null, 4 KiB.",
			AdditionalProperties: true},
		"SecretValueRequest": oaObject("", oaProps{
			"value":      oaRef("SecretValueData"),
			"expires_at": oaTime("Optional: the new expiry, in the future."),
		}, "value"),
		"SecretMetadataRequest": oaObject("", oaProps{
			"metadata": oaRef("SecretMetadata"),
		}, "metadata"),
		"SecretRevealRequest": oaObject("", oaProps{
			"purpose": &oaSchema{Type: "string", MinLength: oaInt(1), MaxLength: oaInt(secrets.MaxPurposeLength),
				Description: "Why the value is needed; written to the audit log."},
		}, "purpose"),
		"Secret": oaObject("A stored credential's metadata; never its value.", oaProps{
			"id":           oaFormat("uuid", ""),
			"name":         oaString(""),
			"type":         oaRef("SecretType"),
			"status":       oaEnum("", secrets.StatusActive, secrets.StatusExpired, secrets.StatusRevoked),
			"version":      &oaSchema{Type: "integer", Minimum: oaInt64(1), Description: "Grows by one with every new value."},
			"metadata":     oaRef("SecretMetadata"),
			"created_at":   oaTime(""),
			"created_by":   oaString("Who created it, such as `user:<id>`."),
			"updated_at":   oaTime(""),
			"expires_at":   oaTime("Absent: never expires."),
			"revoked_at":   oaTime("Present once revoked."),
			"last_used_at": oaTime("The last reveal or use by a service."),
		}, "id", "name", "type", "status", "version", "metadata", "created_at", "created_by", "updated_at"),
		"SecretPage": oaObject("One page of secrets.", oaProps{
			"items":       oaArray(oaRef("Secret"), ""),
			"next_cursor": oaString("Pass back as `cursor` for the next page; absent on the last page."),
		}, "items"),
		"SecretValue": oaObject("A credential's value, for a service.", oaProps{
			"id":      oaFormat("uuid", ""),
			"name":    oaString(""),
			"type":    oaRef("SecretType"),
			"version": &oaSchema{Type: "integer", Minimum: oaInt64(1)},
			"value":   oaRef("SecretValueData"),
		}, "id", "name", "type", "version", "value"),
		"Role": oaObject("A role: a named set of permissions.", oaProps{
			"name":        oaString(""),
			"builtin":     oaBool("Built-in roles cannot be changed."),
			"permissions": oaArray(oaRef("Permission"), ""),
			"collections": oaArray(oaString(""), "When present, records.* and files.* apply only to these collections."),
		}, "name", "builtin", "permissions"),
		"RoleList": oaList("Role", ""),
		"RoleRequest": oaObject("", oaProps{
			"permissions": &oaSchema{Type: "array", Items: oaRef("Permission"), MinItems: oaInt(1)},
			"collections": oaArray(oaString(""), "Optional: limit records.* and files.* to these collections."),
		}, "permissions"),
		"MemberRolesRequest": oaObject("", oaProps{
			"roles": &oaSchema{Type: "array", Items: oaString(""), MinItems: oaInt(1), Description: "Built-in (owner, admin, member, auditor) or custom role names."},
		}, "roles"),
		"MemberRoles": oaObject("", oaProps{
			"id":    uuid("The member's id."),
			"roles": oaArray(oaString(""), ""),
		}, "id", "roles"),

		"Session": oaObject("A signed-in browser or client.", oaProps{
			"id":           uuid(""),
			"user_id":      uuid(""),
			"state":        oaEnum("", identity.SessionActive, identity.SessionMFA, identity.SessionEnrol),
			"created_at":   oaTime(""),
			"last_seen_at": oaTime(""),
			"expires_at":   oaTime(""),
			"ip":           oaString(""),
			"user_agent":   oaString(""),
			"current":      oaBool("This is the session making the request."),
		}, "id", "user_id", "state", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current"),
		"SessionList": oaList("Session", ""),
		"RevokeAllSessionsRequest": oaObject("", oaProps{
			"user":         oaString("A member's id; default: the caller. Another member needs sessions.manage."),
			"keep_current": oaBool("Spare the session making the request."),
		}),
		"RevokeAllSessionsResult": oaObject("", oaProps{
			"revoked": &oaSchema{Type: "integer", Minimum: oaInt64(0)},
		}, "revoked"),

		"PasswordPolicy": oaObject("An organization's password and two-factor policy.", oaProps{
			"min_length":              policyInt("Fewest characters.", 8, password.MaxPasswordBytes),
			"max_length":              policyInt("Most characters; at least 64 so passphrases fit.", 64, password.MaxPasswordBytes),
			"require_lower":           oaBool("At least one lowercase letter."),
			"require_upper":           oaBool("At least one uppercase letter."),
			"require_digit":           oaBool("At least one digit."),
			"require_symbol":          oaBool("At least one character that is neither letter nor digit."),
			"reject_common":           oaBool("Refuse the 10,000 most common passwords."),
			"reject_email_local_part": oaBool("Refuse passwords containing the email's local part."),
			"max_age_days":            policyInt("Force a change after this many days; 0 = never.", 0, 3650),
			"require_mfa":             oaBool("Every member must use two-factor authentication."),
		}, "min_length", "max_length", "require_lower", "require_upper", "require_digit", "require_symbol",
			"reject_common", "reject_email_local_part", "max_age_days", "require_mfa"),

		"AuditRecord": oaObject("One audit entry.", oaProps{
			"seq":        &oaSchema{Type: "integer", Minimum: oaInt64(1), Description: "Position in the organization's hash chain."},
			"time":       oaTime(""),
			"actor":      oaString("Who acted: `user:<id>`, `token:<id>`, `operator:<name>` or `system`."),
			"action":     oaString("What happened, such as `auth.login`."),
			"target":     oaString("What it happened to, such as `user:<id>`."),
			"outcome":    oaEnum("", audit.Success, audit.Failure, audit.Denied),
			"ip":         oaString(""),
			"user_agent": oaString(""),
			"details":    {Type: "object", Description: "Action-specific facts; secrets are redacted before they are stored."},
			"hash":       &oaSchema{Type: "string", Pattern: "^[0-9a-f]+$", Description: "The entry's chain hash, hex."},
		}, "seq", "time", "actor", "action", "target", "outcome", "ip", "user_agent", "details", "hash"),
		"AuditPage": oaObject("", oaProps{
			"items":       oaArray(oaRef("AuditRecord"), ""),
			"next_cursor": oaString("Present when there are older entries: pass it as `cursor`."),
		}, "items"),

		"File":     fileSchema(),
		"FilePage": filePageSchema(),

		"InviteRequest": oaObject("", oaProps{
			"email": oaFormat("email", "The invitee's address."),
			"roles": oaArray(oaString(""), "Role names; default [\"member\"]."),
		}, "email"),
		"InviteCreated": oaObject("", oaProps{
			"id":         oaFormat("uuid", ""),
			"email":      oaString(""),
			"roles":      oaArray(oaString(""), ""),
			"expires_at": oaTime(""),
		}, "id", "email", "roles", "expires_at"),
		"Invite": oaObject("A pending invitation (never its token).", oaProps{
			"id":         oaFormat("uuid", ""),
			"email":      oaString(""),
			"roles":      oaArray(oaString(""), ""),
			"invited_by": oaString("The actor who invited, such as `user:<id>`."),
			"created_at": oaTime(""),
			"expires_at": oaTime(""),
		}, "id", "email", "roles", "invited_by", "created_at", "expires_at"),
		"InviteList": oaList("Invite", ""),
		"TokenPasswordRequest": oaObject("", oaProps{
			"token":    oaString("The token from the link (after `#token=`)."),
			"password": oaString("The new password; must satisfy the organization's policy."),
		}, "token", "password"),
		"Welcome": oaObject("An account just created from a link, signed in.", oaProps{
			"mfa_required":           oaBool("The session waits for POST /api/v1/auth/mfa."),
			"mfa_enrolment_required": oaBool("The organization requires 2FA: the session can only enrol."),
			"user_id":                oaFormat("uuid", ""),
			"email":                  oaString(""),
			"organization":           oaString("The organization's slug."),
			"roles":                  oaArray(oaString(""), ""),
		}, "mfa_required", "mfa_enrolment_required", "user_id", "email", "organization", "roles"),
		"PasswordResetRequest": oaObject("", oaProps{
			"organization": oaString("The organization's slug."),
			"email":        oaString(""),
		}, "organization", "email"),
		"PasswordResetRequested": oaObject("", oaProps{
			"status": &oaSchema{Type: "string", Const: "sent if the account exists"},
		}, "status"),
		"PasswordResetDone": oaObject("", oaProps{
			"status":           &oaSchema{Type: "string", Const: "password changed"},
			"sessions_revoked": &oaSchema{Type: "integer", Minimum: oaInt64(0)},
		}, "status", "sessions_revoked"),
		"BootstrapRequest": oaObject("", oaProps{
			"token":    oaString("The bootstrap token (after `#token=` in the printed link)."),
			"email":    oaString("The first operator's address."),
			"password": oaString("Must satisfy the platform organization's policy."),
		}, "token", "email", "password"),
		"OrganizationRequest": oaObject("", oaProps{
			"name": oaString("Display name."),
			"slug": &oaSchema{Type: "string", Pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
				Description: "1 to 63 lowercase letters, digits or inner hyphens; not `" + identity.PlatformOrgSlug + "`."},
		}, "name", "slug"),
		"Organization": oaObject("A tenant.", oaProps{
			"id":         oaFormat("uuid", ""),
			"slug":       oaString(""),
			"name":       oaString(""),
			"created_at": oaTime(""),
		}, "id", "slug", "name", "created_at"),
		"ConfirmRequest": oaObject("", oaProps{
			"confirm": oaString("The organization's slug, typed again."),
		}, "confirm"),
		"OrgDeletionRequest": oaObject("A deletion waiting for an operator's confirmation.", oaProps{
			"org_id":       oaFormat("uuid", ""),
			"slug":         oaString(""),
			"requested_by": oaString("`user:<id>` (or `token:<id>`) of the owner who asked."),
			"requested_at": oaTime(""),
			"status":       oaEnum("", "pending_operator_confirmation"),
		}, "org_id", "slug", "requested_by", "requested_at", "status"),
		"OrgDeletion": oaObject("A completed deletion.", oaProps{
			"org_id":     oaFormat("uuid", ""),
			"slug":       oaString(""),
			"deleted_at": oaTime(""),
			"rows_deleted": {Type: "object", Description: "Rows deleted, per table.",
				AdditionalProperties: &oaSchema{Type: "integer", Minimum: oaInt64(0)}},
		}, "org_id", "slug", "deleted_at", "rows_deleted"),

		"Health": oaObject("", oaProps{
			"status":  {Type: "string", Const: "ok"},
			"version": oaString("The build version."),
		}, "status", "version"),
		"Readiness": oaObject("", oaProps{
			"status": oaEnum("", "ready", "not_ready"),
			"checks": {Type: "object", Description: "Each check's result, by name.",
				AdditionalProperties: oaEnum("", "ok", "unavailable")},
		}, "status", "checks"),
	}
}

// etagHeader documents the ETag of a record answer.
func etagHeader() map[string]oaHeader {
	return map[string]oaHeader{"ETag": {Description: "The record's version, quoted: send it as `If-Match`.", Schema: oaString("")}}
}
