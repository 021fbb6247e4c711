package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/oidc"
	"github.com/rampart-platform/rampart/internal/secrets"
)

// OAuth clients (clients.manage) and stored credentials (secrets.manage):
// metadata and revocation only. A client secret is shown once, at
// creation; a credential's value is never shown here.

type clientsData struct {
	Clients    []oidc.Client
	Created    *oidc.Client
	Secret     string // the new client's secret, shown once
	Form       oidc.NewClient
	URIs       string // the form's redirect URIs, one a line
	ScopesText string
}

func (c *Console) clientsPage(cl *call) error {
	return c.renderClients(cl, http.StatusOK, "", clientsData{Form: oidc.NewClient{GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken}}})
}

func (c *Console) renderClients(cl *call, status int, msg string, d clientsData) error {
	if err := cl.need(authz.ClientsManage); err != nil {
		return err
	}
	if c.oauth == nil {
		return errs.E(errs.Unavailable, "console", "The OAuth provider is not available on this server.")
	}
	var err error
	if d.Clients, err = c.oauth.ListClients(cl.r.Context()); err != nil {
		return err
	}
	return cl.render(status, "clients", view{Title: "OAuth clients", Section: "clients", Error: msg, D: d})
}

func (c *Console) createClient(cl *call) error {
	if err := cl.need(authz.ClientsManage); err != nil {
		return err
	}
	if c.oauth == nil {
		return errs.E(errs.Unavailable, "console", "The OAuth provider is not available on this server.")
	}
	f := cl.r.PostForm
	d := clientsData{URIs: f.Get("redirect_uris"), ScopesText: f.Get("scopes")}
	d.Form = oidc.NewClient{Name: strings.TrimSpace(f.Get("name")), Public: f.Get("public") == "on", GrantTypes: f["grant_types"],
		RedirectURIs: strings.Fields(d.URIs), Scopes: strings.Fields(d.ScopesText)}
	created, secret, err := c.oauth.CreateClient(cl.r.Context(), cl.meta(), d.Form)
	if err != nil {
		status, msg, _ := cl.problem(err)
		return c.renderClients(cl, status, msg, d)
	}
	return c.renderClients(cl, http.StatusCreated, "", clientsData{Created: &created, Secret: secret,
		Form: oidc.NewClient{GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken}}})
}

func (c *Console) revokeClient(cl *call) error {
	if err := cl.need(authz.ClientsManage); err != nil {
		return err
	}
	if c.oauth == nil {
		return errs.E(errs.Unavailable, "console", "The OAuth provider is not available on this server.")
	}
	if err := c.oauth.RevokeClient(cl.r.Context(), cl.meta(), cl.r.PostForm.Get("id")); err != nil {
		return err
	}
	return cl.redirect("/console/org/clients", url.Values{"done": {"client-revoked"}})
}

type credentialsData struct {
	Items []secrets.Secret
	Next  string
}

func (c *Console) credentialsPage(cl *call) error {
	if err := cl.need(authz.SecretsManage); err != nil {
		return err
	}
	if c.secrets == nil {
		return errs.E(errs.Unavailable, "console", "The credential vault is not available on this server.")
	}
	page, err := c.secrets.List(cl.r.Context(), cl.auth.Principal, secrets.ListOptions{Cursor: cl.r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	d := credentialsData{Items: page.Items}
	if page.NextCursor != "" {
		d.Next = url.Values{"cursor": {page.NextCursor}}.Encode()
	}
	return cl.render(http.StatusOK, "credentials", view{Title: "Credentials", Section: "credentials", D: d})
}

func (c *Console) revokeCredential(cl *call) error {
	if err := cl.need(authz.SecretsManage); err != nil {
		return err
	}
	if c.secrets == nil {
		return errs.E(errs.Unavailable, "console", "The credential vault is not available on this server.")
	}
	if _, err := c.secrets.Revoke(cl.r.Context(), cl.auth.Principal, cl.r.PostForm.Get("id")); err != nil {
		return err
	}
	return cl.redirect("/console/org/credentials", url.Values{"done": {"credential-revoked"}})
}
