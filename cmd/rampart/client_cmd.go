package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/oidc"
)

// newAdminClientCmd manages OAuth clients: `rampart admin client ...`.
func newAdminClientCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage OAuth / OpenID Connect clients of an organization"}

	var org string
	var nc oidc.NewClient
	var asJSON bool
	create := &cobra.Command{
		Use:   "create --org ORG --name NAME [--redirect-uri URI]... [--public] [--first-party] [--grant G]... [--scope S]...",
		Short: "Register a client; its secret is printed once",
		Long: "Register an OAuth client in an organization. With --redirect-uri it uses the authorization code flow\n" +
			"(with refresh tokens); without, client_credentials. --public makes a client without a secret (PKCE S256\n" +
			"required); --first-party skips the consent screen. The secret is shown once and stored only as a hash.",
		Args: cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			o, err := d.FindOrganization(cmd.Context(), org)
			if err != nil {
				return err
			}
			c, secret, err := d.OIDC.CreateClientAsOperator(cmd.Context(), cliActor, o.ID, nc)
			if err != nil {
				return err
			}
			if asJSON {
				out := map[string]any{"client": c}
				if secret != "" {
					out["client_secret"] = secret
				}
				return printJSON(e.stdout, out)
			}
			fmt.Fprintf(e.stdout, "created client %q in %s\n  client_id:     %s\n", c.Name, o.Slug, c.ID)
			if secret != "" {
				fmt.Fprintf(e.stdout, "  client_secret: %s\n  (shown once: store it now)\n", secret)
			}
			fmt.Fprintf(e.stdout, "  grants: %s\n  scopes: %s\n  issuer: %s\n", strings.Join(c.GrantTypes, ", "), strings.Join(c.Scopes, " "), d.OIDC.Issuer())
			return nil
		}),
	}
	create.Flags().StringVar(&org, "org", "", "organization id or slug (required)")
	create.Flags().StringVar(&nc.Name, "name", "", "display name shown on the consent screen (required)")
	create.Flags().StringSliceVar(&nc.RedirectURIs, "redirect-uri", nil, "exact redirect URI (repeatable): https, or http on a loopback address")
	create.Flags().BoolVar(&nc.Public, "public", false, "a public client (browser or native app): no secret, PKCE S256 required")
	create.Flags().BoolVar(&nc.FirstParty, "first-party", false, "the platform's own application: no consent screen")
	create.Flags().StringSliceVar(&nc.GrantTypes, "grant", nil, "allowed grant (repeatable): authorization_code, refresh_token, client_credentials")
	create.Flags().StringSliceVar(&nc.Scopes, "scope", nil, "scope the client may ask for besides openid, profile, email, offline_access (repeatable)")
	create.Flags().BoolVar(&asJSON, "json", false, `print {"client","client_secret"} as JSON`)
	_ = create.MarkFlagRequired("org")
	_ = create.MarkFlagRequired("name")
	config.RegisterFlags(create.Flags(), config.GroupData)

	var listOrg string
	var listJSON bool
	list := &cobra.Command{
		Use:   "list --org ORG",
		Short: "List an organization's clients (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			o, err := d.FindOrganization(cmd.Context(), listOrg)
			if err != nil {
				return err
			}
			cs, err := d.OIDC.ListClientsAsOperator(cmd.Context(), o.ID)
			if err != nil {
				return err
			}
			if listJSON {
				return printJSON(e.stdout, cs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tGRANTS\tCREATED\tREVOKED")
			for _, c := range cs {
				kind, revoked := "confidential", "-"
				if c.Public {
					kind = "public"
				}
				if c.RevokedAt != nil {
					revoked = c.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, strings.Join(c.GrantTypes, ","), c.CreatedAt.Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&listOrg, "org", "", "organization id or slug (required)")
	list.Flags().BoolVar(&listJSON, "json", false, "print as JSON")
	_ = list.MarkFlagRequired("org")
	config.RegisterFlags(list.Flags(), config.GroupData)

	revoke := &cobra.Command{
		Use:   "revoke CLIENT_ID",
		Short: "Disable a client and every token it holds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := openData(cmd, e, app.MustExist)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.OIDC.RevokeClientAsOperator(cmd.Context(), cliActor, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "revoked client %s\n", args[0])
			return nil
		},
	}
	config.RegisterFlags(revoke.Flags(), config.GroupData)

	var regOrg string
	var regTTL time.Duration
	var regScopes []string
	var regJSON bool
	reg := &cobra.Command{
		Use:   "registration-token --org ORG [--ttl 24h] [--scope S]...",
		Short: "Make a single-use initial access token for Dynamic Client Registration (RFC 7591) at /oauth/register",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			o, err := d.FindOrganization(cmd.Context(), regOrg)
			if err != nil {
				return err
			}
			t, err := d.OIDC.CreateRegistrationTokenAsOperator(cmd.Context(), cliActor, o.ID, regTTL, regScopes)
			if err != nil {
				return err
			}
			if regJSON {
				return printJSON(e.stdout, t)
			}
			fmt.Fprintf(e.stdout, "initial access token for %s (single use, expires %s):\n  %s\nregister with: POST %s%s (Authorization: Bearer <token>)\n",
				o.Slug, t.ExpiresAt.Format(time.RFC3339), t.Token, strings.TrimSuffix(d.OIDC.Issuer(), "/"), oidc.PathRegister)
			return nil
		}),
	}
	reg.Flags().StringVar(&regOrg, "org", "", "organization id or slug (required)")
	reg.Flags().DurationVar(&regTTL, "ttl", 24*time.Hour, "how long the token stays valid (at most 168h)")
	reg.Flags().StringSliceVar(&regScopes, "scope", nil, "custom scope the registered client may have (repeatable)")
	reg.Flags().BoolVar(&regJSON, "json", false, "print as JSON")
	_ = reg.MarkFlagRequired("org")
	config.RegisterFlags(reg.Flags(), config.GroupData)
	cmd.AddCommand(create, list, revoke, reg)
	return cmd
}

// newKeysRotateSigningCmd is `rampart keys rotate-signing`.
func newKeysRotateSigningCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate-signing",
		Short: "Replace the token and gateway signing keys now; old public keys stay published until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			if err := d.OIDC.RotateSigningKeys(cmd.Context(), cliActor); err != nil {
				return err
			}
			ks, err := d.OIDC.SigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, ks)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY_ID\tPURPOSE\tALG\tSIGNS_UNTIL\tPUBLISHED_UNTIL")
			for _, k := range ks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Purpose, k.Algorithm, k.ActiveUntil.Format(time.RFC3339), k.RetireAt.Format(time.RFC3339))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the published keys as JSON")
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}
