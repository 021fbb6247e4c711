package console

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
	"github.com/rampart-platform/rampart/internal/records"
)

// errNoMember is the answer for a member id that is not in the caller's
// organization (another tenant's ids are never found).
func errNoMember() error {
	return errs.E(errs.NotFound, "console", "There is no such member in your organization.")
}

type membersData struct {
	Members []identity.User
	Invites []identity.Invite
	Roles   []authz.Role
	Manage  bool
}

func (c *Console) membersPage(cl *call) error { return c.renderMembers(cl, http.StatusOK, "") }

func (c *Console) renderMembers(cl *call, status int, msg string) error {
	if err := cl.need(authz.MembersRead); err != nil {
		return err
	}
	ctx := cl.r.Context()
	d := membersData{Manage: cl.can(authz.MembersManage)}
	var err error
	if d.Members, err = c.id.ListMembers(ctx, cl.auth); err != nil {
		return err
	}
	if d.Manage {
		if d.Invites, err = c.id.ListInvites(ctx, cl.auth); err != nil {
			return err
		}
		if d.Roles, err = c.id.ListRoles(ctx, cl.auth); err != nil {
			return err
		}
	}
	return cl.render(status, "members", view{Title: "Members", Section: "members", Error: msg, D: d})
}

func (c *Console) invite(cl *call) error {
	f := cl.r.PostForm
	roles := f["roles"]
	if _, err := c.id.CreateInvite(cl.r.Context(), cl.auth, cl.meta(), f.Get("email"), roles); err != nil {
		status, msg, _ := cl.problem(err)
		if status == http.StatusForbidden {
			return err
		}
		return c.renderMembers(cl, status, msg)
	}
	return cl.redirect("/console/org/members", url.Values{"done": {"invited"}})
}

func (c *Console) revokeInvite(cl *call) error {
	if err := c.id.RevokeInvite(cl.r.Context(), cl.auth, cl.meta(), cl.r.PostForm.Get("id")); err != nil {
		return err
	}
	return cl.redirect("/console/org/members", url.Values{"done": {"invite-revoked"}})
}

type memberData struct {
	Member         identity.User
	Roles          []authz.Role
	Sessions       []identity.Session
	Manage         bool
	ManageSessions bool // may list and revoke the member's sessions
}

// findMember looks the member up in the caller's own organization.
func (c *Console) findMember(cl *call, id string) (identity.User, error) {
	ms, err := c.id.ListMembers(cl.r.Context(), cl.auth)
	if err != nil {
		return identity.User{}, err
	}
	for _, m := range ms {
		if m.ID == id {
			return m, nil
		}
	}
	return identity.User{}, errNoMember()
}

func (c *Console) memberPage(cl *call) error { return c.renderMember(cl, http.StatusOK, "") }

func (c *Console) renderMember(cl *call, status int, msg string) error {
	if err := cl.need(authz.MembersRead); err != nil {
		return err
	}
	m, err := c.findMember(cl, cl.r.PathValue("id"))
	if err != nil {
		return err
	}
	d := memberData{Member: m, Manage: cl.can(authz.MembersManage), ManageSessions: cl.can(authz.SessionsManage) || m.ID == cl.auth.Principal.UserID}
	ctx := cl.r.Context()
	if d.Manage {
		if d.Roles, err = c.id.ListRoles(ctx, cl.auth); err != nil {
			return err
		}
	}
	if d.ManageSessions {
		if d.Sessions, err = c.id.ListSessions(ctx, cl.auth, m.ID); err != nil {
			return err
		}
	}
	return cl.render(status, "member", view{Title: "Member " + m.Email, Section: "members", Error: msg, D: d})
}

func (c *Console) setMemberRoles(cl *call) error {
	id := cl.r.PathValue("id")
	if err := c.id.SetMemberRoles(cl.r.Context(), cl.auth, cl.meta(), id, cl.r.PostForm["roles"]); err != nil {
		status, msg, _ := cl.problem(err)
		if status == http.StatusForbidden || status == http.StatusNotFound {
			return err
		}
		return c.renderMember(cl, status, msg)
	}
	return cl.redirect("/console/org/members/"+url.PathEscape(id), url.Values{"done": {"roles-saved"}})
}

func (c *Console) revokeMemberSessions(cl *call) error {
	id := cl.r.PathValue("id")
	if _, err := c.id.RevokeUserSessions(cl.r.Context(), cl.auth, cl.meta(), id, cl.auth.SessionID); err != nil {
		return err
	}
	return cl.redirect("/console/org/members/"+url.PathEscape(id), url.Values{"done": {"member-sessions"}})
}

func (c *Console) removeMember(cl *call) error {
	id := cl.r.PathValue("id")
	if err := c.id.RemoveMember(cl.r.Context(), cl.auth, cl.meta(), id); err != nil {
		status, msg, _ := cl.problem(err)
		if status == http.StatusForbidden || status == http.StatusNotFound {
			return err
		}
		return c.renderMember(cl, status, msg)
	}
	return cl.redirect("/console/org/members", url.Values{"done": {"member-removed"}})
}

type rolesData struct {
	Roles   []authz.Role
	Catalog []authz.PermissionInfo
	Manage  bool
	Edit    authz.Role // the role in the form
	Editing bool       // Edit is an existing role
}

func (c *Console) rolesPage(cl *call) error {
	return c.renderRoles(cl, http.StatusOK, "", authz.Role{}, false)
}

func (c *Console) renderRoles(cl *call, status int, msg string, edit authz.Role, editing bool) error {
	if !cl.can(authz.MembersRead) && !cl.can(authz.RolesManage) {
		return cl.need(authz.RolesManage)
	}
	rs, err := c.id.ListRoles(cl.r.Context(), cl.auth)
	if err != nil {
		return err
	}
	d := rolesData{Roles: rs, Catalog: authz.Catalogue(), Manage: cl.can(authz.RolesManage), Edit: edit, Editing: editing}
	return cl.render(status, "roles", view{Title: "Roles", Section: "roles", Error: msg, D: d})
}

func (c *Console) rolePage(cl *call) error {
	if err := cl.need(authz.RolesManage); err != nil {
		return err
	}
	name := cl.r.PathValue("name")
	rs, err := c.id.ListRoles(cl.r.Context(), cl.auth)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Name == name && !r.Builtin {
			return c.renderRoles(cl, http.StatusOK, "", r, true)
		}
	}
	return errs.E(errs.NotFound, "console", "There is no such custom role in your organization.")
}

func (c *Console) putRole(cl *call) error {
	f := cl.r.PostForm
	r := authz.Role{Name: strings.TrimSpace(f.Get("name"))}
	for _, p := range f["permissions"] {
		r.Permissions = append(r.Permissions, authz.Permission(p))
	}
	for _, col := range strings.Split(f.Get("collections"), ",") {
		if col = strings.TrimSpace(col); col != "" {
			r.Collections = append(r.Collections, col)
		}
	}
	if _, err := c.id.PutRole(cl.r.Context(), cl.auth, cl.meta(), r); err != nil {
		status, msg, _ := cl.problem(err)
		if status == http.StatusForbidden && !cl.can(authz.RolesManage) {
			return err
		}
		return c.renderRoles(cl, status, msg, r, f.Get("editing") == "1")
	}
	return cl.redirect("/console/org/roles", url.Values{"done": {"role-saved"}})
}

func (c *Console) deleteRole(cl *call) error {
	if err := c.id.DeleteRole(cl.r.Context(), cl.auth, cl.meta(), cl.r.PathValue("name")); err != nil {
		status, msg, _ := cl.problem(err)
		if status == http.StatusForbidden || status == http.StatusNotFound {
			return err
		}
		return c.renderRoles(cl, status, msg, authz.Role{}, false)
	}
	return cl.redirect("/console/org/roles", url.Values{"done": {"role-deleted"}})
}

func (c *Console) policyPage(cl *call) error {
	if err := cl.need(authz.PolicyManage); err != nil {
		return err
	}
	ps, err := c.id.GetPasswordSettings(cl.r.Context(), cl.auth)
	if err != nil {
		return err
	}
	return cl.render(http.StatusOK, "policy", view{Title: "Password and two-factor policy", Section: "policy", D: ps})
}

func (c *Console) setPolicy(cl *call) error {
	if err := cl.need(authz.PolicyManage); err != nil {
		return err
	}
	f := cl.r.PostForm
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
		if err != nil {
			return -1 // the policy check names the field
		}
		return n
	}
	on := func(name string) bool { return f.Get(name) == "on" }
	ps := identity.PasswordSettings{Policy: password.Policy{
		MinLength: num("min_length"), MaxLength: num("max_length"), MaxAgeDays: num("max_age_days"),
		RequireLower: on("require_lower"), RequireUpper: on("require_upper"), RequireDigit: on("require_digit"),
		RequireSymbol: on("require_symbol"), RejectCommon: on("reject_common"), RejectEmailLocalPart: on("reject_email_local_part"),
	}, RequireMFA: on("require_mfa")}
	if err := c.id.SetPasswordSettings(cl.r.Context(), cl.auth, cl.meta(), ps); err != nil {
		status, msg, _ := cl.problem(err)
		return cl.render(status, "policy", view{Title: "Password and two-factor policy", Section: "policy", Error: msg, D: ps})
	}
	return cl.redirect("/console/org/policy", url.Values{"done": {"policy-saved"}})
}

// auditForm is the audit viewer's filter as the form shows it.
type auditForm struct {
	Actor, Action, Since, Until, Cursor string
}

type auditData struct {
	Form   auditForm
	Page   audit.Page
	Query  string // the filter as a query string, for export and paging
	Next   string
	Report *audit.Report
}

// datetime-local inputs send "2006-01-02T15:04" without a zone: UTC.
const localTime = "2006-01-02T15:04"

func parseAuditForm(q url.Values) (auditForm, audit.Filter, error) {
	form := auditForm{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Since: q.Get("since"), Until: q.Get("until"), Cursor: q.Get("cursor")}
	api := url.Values{}
	if form.Actor != "" {
		api.Set("actor", form.Actor)
	}
	if form.Action != "" {
		api.Set("action", form.Action)
	}
	if form.Cursor != "" {
		api.Set("cursor", form.Cursor)
	}
	for name, v := range map[string]string{"since": form.Since, "until": form.Until} {
		if v == "" {
			continue
		}
		t, err := time.Parse(localTime, v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return form, audit.Filter{}, errs.E(errs.Invalid, "console", name+": enter a date and time such as 2026-11-25T10:00")
			}
		}
		api.Set(name, t.UTC().Format(time.RFC3339))
	}
	f, err := audit.ParseFilter(api)
	return form, f, err
}

func (form auditForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": form.Actor, "action": form.Action, "since": form.Since, "until": form.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (c *Console) auditPage(cl *call) error {
	if err := cl.need(authz.AuditRead); err != nil {
		return err
	}
	return c.renderAudit(cl, cl.r.URL.Query(), nil)
}

func (c *Console) renderAudit(cl *call, q url.Values, rep *audit.Report) error {
	form, f, err := parseAuditForm(q)
	d := auditData{Form: form, Report: rep, Query: form.query().Encode(), Page: audit.Page{Items: []audit.Record{}}}
	if err != nil {
		status, msg, _ := cl.problem(err)
		return cl.render(status, "audit", view{Title: "Audit log", Section: "audit", Error: msg, D: d})
	}
	if d.Page, err = c.auditLog.Search(cl.r.Context(), c.db, cl.auth.Principal.OrgID, f); err != nil {
		return err
	}
	if d.Page.NextCursor != "" {
		nq := form.query()
		nq.Set("cursor", d.Page.NextCursor)
		d.Next = nq.Encode()
	}
	return cl.render(http.StatusOK, "audit", view{Title: "Audit log", Section: "audit", D: d})
}

// auditExport streams every entry matching the filter as JSON lines.
func (c *Console) auditExport(cl *call) error {
	if err := cl.need(authz.AuditRead); err != nil {
		return err
	}
	_, f, err := parseAuditForm(cl.r.URL.Query())
	if err != nil {
		return err
	}
	f.Limit = 200
	ctx := cl.r.Context()
	org := cl.auth.Principal.OrgID
	page, err := c.auditLog.Search(ctx, c.db, org, f)
	if err != nil {
		return err
	}
	h := cl.w.Header()
	h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="rampart-audit.jsonl"`)
	bw := bufio.NewWriter(cl.w)
	enc := json.NewEncoder(bw)
	for {
		for _, rec := range page.Items {
			if err := enc.Encode(rec); err != nil {
				return nil // the client went away
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Before, _ = strconv.ParseInt(page.NextCursor, 10, 64)
		if page, err = c.auditLog.Search(ctx, c.db, org, f); err != nil {
			c.log.ErrorContext(ctx, "audit export cut short", "err", err)
			break
		}
	}
	_ = bw.Flush()
	return nil
}

// auditVerify checks the organization's chain and shows the outcome; the
// check itself is audited.
func (c *Console) auditVerify(cl *call) error {
	if err := cl.need(authz.AuditRead); err != nil {
		return err
	}
	ctx := cl.r.Context()
	org := cl.auth.Principal.OrgID
	rep, err := c.auditLog.Verify(ctx, c.db, org)
	if err != nil {
		return err
	}
	outcome := audit.Success
	if !rep.OK() {
		outcome = audit.Failure
	}
	m := cl.meta()
	if err := c.auditLog.Record(ctx, c.db, audit.Event{Org: org, Actor: "user:" + cl.auth.Principal.UserID, Action: "audit.verify",
		Target: "org:" + org, Outcome: outcome, IP: m.IP, UserAgent: m.UserAgent,
		Details: map[string]any{"entries": rep.Entries, "problems": len(rep.Problems)}}); err != nil {
		return err
	}
	return c.renderAudit(cl, url.Values{}, &rep)
}

func (c *Console) collectionsPage(cl *call) error {
	if c.records == nil {
		return errs.E(errs.Unavailable, "console", "Collections are not available on this server.")
	}
	cs, err := c.records.ListCollections(cl.r.Context(), cl.auth.Principal)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []records.Collection{}
	}
	return cl.render(http.StatusOK, "collections", view{Title: "Collections", Section: "collections", D: cs})
}

type orgsData struct {
	Orgs       []Organization
	Name, Slug string
}

func (c *Console) orgsPage(cl *call) error { return c.renderOrgs(cl, http.StatusOK, "", orgsData{}) }

func (c *Console) renderOrgs(cl *call, status int, msg string, d orgsData) error {
	if err := identity.RequireOperator(cl.r.Context(), cl.auth.Principal); err != nil {
		return errs.E(errs.Forbidden, "console", "Only platform operators may see this page.", err)
	}
	if c.orgs == nil {
		return errs.E(errs.Unavailable, "console", "Organizations cannot be managed on this server.")
	}
	var err error
	if d.Orgs, err = c.orgs.ListOrganizations(cl.r.Context()); err != nil {
		return err
	}
	return cl.render(status, "orgs", view{Title: "Organizations", Section: "operator", Error: msg, D: d})
}

func (c *Console) createOrg(cl *call) error {
	if err := identity.RequireOperator(cl.r.Context(), cl.auth.Principal); err != nil {
		return errs.E(errs.Forbidden, "console", "Only platform operators may see this page.", err)
	}
	if c.orgs == nil {
		return errs.E(errs.Unavailable, "console", "Organizations cannot be managed on this server.")
	}
	f := cl.r.PostForm
	d := orgsData{Name: strings.TrimSpace(f.Get("name")), Slug: strings.TrimSpace(f.Get("slug"))}
	if _, err := c.orgs.CreateOrganization(cl.r.Context(), "operator:"+cl.auth.Principal.UserID, d.Name, d.Slug); err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderOrgs(cl, status, msg, d)
	}
	return cl.redirect("/console/operator/orgs", url.Values{"done": {"org-created"}})
}
