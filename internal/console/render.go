package console

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/perimeter"
)

// pageTemplate is the layout plus one page's "content".
type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"hasPerm": func(ps []authz.Permission, p authz.Permission) bool {
		for _, x := range ps {
			if x == p {
				return true
			}
		}
		return false
	},
	"perms": func(ps []authz.Permission) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = string(p)
		}
		return strings.Join(out, ", ")
	},
}

// mustParsePages parses every page once, at start: a broken template is a
// build bug that the tests catch, not a run-time condition.
func mustParsePages() map[string]*pageTemplate {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(assets, n))
		pages[name] = &pageTemplate{t: t}
	}
	return pages
}

// nav is what the header shows: who is signed in and the sections their
// permissions open.
type nav struct {
	SignedIn    bool
	Enrolling   bool
	Email       string
	Org         string
	Members     bool
	Roles       bool
	Policy      bool
	Audit       bool
	Collections bool
	Clients     bool
	Credentials bool
	Operator    bool
}

// view is the data of every page.
type view struct {
	Title      string
	Section    string
	Nav        nav
	CSRF       string
	Notice     string
	Error      string
	Violations []password.Violation
	D          any
}

func (cl *call) nav() nav {
	if !cl.signedIn || cl.auth.State == identity.SessionMFA {
		return nav{}
	}
	n := nav{SignedIn: true, Email: cl.auth.Email, Enrolling: cl.auth.State == identity.SessionEnrol}
	if n.Enrolling {
		return n
	}
	n.Members = cl.can(authz.MembersRead)
	n.Roles = cl.can(authz.MembersRead) || cl.can(authz.RolesManage)
	n.Policy = cl.can(authz.PolicyManage)
	n.Audit = cl.can(authz.AuditRead)
	n.Collections = cl.c.records != nil
	n.Clients = cl.c.oauth != nil && cl.can(authz.ClientsManage)
	n.Credentials = cl.c.secrets != nil && cl.can(authz.SecretsManage)
	n.Operator = cl.c.orgs != nil && identity.RequireOperator(cl.r.Context(), cl.auth.Principal) == nil
	return n
}

// render writes page name with status.
func (cl *call) render(status int, name string, v view) error {
	pt := cl.c.pages[name]
	if pt == nil {
		return errs.E("console.render", errs.Other, "no template "+name)
	}
	v.Nav = cl.nav()
	v.CSRF = cl.csrf
	if v.Notice == "" {
		v.Notice = notices[cl.r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return errs.E("console.render", err)
	}
	h := cl.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	cl.w.WriteHeader(status)
	_, _ = cl.w.Write(buf.Bytes())
	return nil
}

// notices are the fixed confirmations a redirect names with ?done=; no
// text from the request is ever shown.
var notices = map[string]string{
	"signed-out":         "You have signed out.",
	"password-changed":   "Your password has been changed.",
	"password-reset":     "Your password has been changed. Sign in with the new password.",
	"2fa-disabled":       "Two-factor authentication is off.",
	"session-revoked":    "The session has been signed out.",
	"sessions-revoked":   "Your other sessions have been signed out.",
	"token-revoked":      "The token has been revoked.",
	"invited":            "The invitation has been sent.",
	"invite-revoked":     "The invitation has been withdrawn.",
	"roles-saved":        "The member's roles have been saved.",
	"member-sessions":    "The member's sessions have been signed out.",
	"member-removed":     "The member has been removed.",
	"role-saved":         "The role has been saved.",
	"role-deleted":       "The role has been deleted.",
	"policy-saved":       "The policy has been saved.",
	"org-created":        "The organization has been created.",
	"client-revoked":     "The client has been revoked; its tokens no longer work.",
	"credential-revoked": "The credential has been revoked and its value destroyed.",
	"welcome":            "Welcome to Rampart.",
}

// statusOf maps an error kind to the page's status (as the API does).
func statusOf(kind errs.Kind) int {
	switch kind {
	case errs.Invalid, errs.Unprocessable:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Exists, errs.Conflict:
		return http.StatusConflict
	case errs.Precondition:
		return http.StatusPreconditionFailed
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.Shredded:
		return http.StatusGone
	}
	return http.StatusInternalServerError
}

// problem turns err into what a form shows: a status, a safe sentence and
// the broken password rules. Internal errors are logged with the request
// id and shown only as that id.
func (cl *call) problem(err error) (int, string, []password.Violation) {
	kind := errs.KindOf(err)
	status := statusOf(kind)
	msg := errs.SafeMessage(err)
	if status >= 500 {
		rid := perimeter.RequestIDFrom(cl.r.Context())
		cl.c.log.ErrorContext(cl.r.Context(), "console request failed", "request_id", rid, "method", cl.r.Method,
			"path", cl.r.URL.Path, "kind", kind.String(), "err", err)
		if kind == errs.Other || kind == errs.Integrity || msg == "" {
			msg = "Something went wrong on our side. If it keeps happening, quote this reference: " + rid
		}
	}
	if kind == errs.RateLimited {
		if n := identity.RetryAfter(err); n > 0 {
			cl.w.Header().Set("Retry-After", itoa(n))
			at := time.Now().Add(time.Duration(n) * time.Second).UTC().Format("15:04:05 UTC")
			msg = "Too many attempts. Try again in " + itoa(n) + " seconds (at " + at + ")."
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return status, sentence(msg), password.Violations(err)
}

// sentence capitalises a service message for display.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// errorPage renders a whole-page error (404, 403, 500 ...), without
// internals.
func (c *Console) errorPage(cl *call, err error) {
	status, msg, _ := cl.problem(err)
	title := map[int]string{
		http.StatusNotFound:  "Page not found",
		http.StatusForbidden: "Not allowed",
	}[status]
	if title == "" {
		if status >= 500 {
			title = "Something went wrong"
		} else {
			title = http.StatusText(status)
		}
	}
	if cl.csrf == "" {
		cl.csrf = cl.formToken()
	}
	if rerr := cl.render(status, "error", view{Title: title, Error: msg, D: status}); rerr != nil {
		c.log.ErrorContext(cl.r.Context(), "console error page failed", "err", rerr)
		http.Error(cl.w, http.StatusText(status), status)
	}
}
