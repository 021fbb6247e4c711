package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/audit"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/identity"
	"github.com/rampart-platform/rampart/internal/password"
)

// dataRunE runs fn on the instance the command's flags describe, opened in
// mode, and closes it afterwards (sealing what fn appended to the audit log).
func dataRunE(e env, mode app.OpenMode, fn func(cmd *cobra.Command, d *app.Data) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		d, err := openData(cmd, e, mode)
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(cmd, d)
	}
}

// cliActor is how operator commands appear in the audit log.
const cliActor = "operator:cli"

func newServeCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the HTTPS server (embedded default when nothing is configured)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			log := newLogger(cfg, e.stderr)
			// Libraries that log through slog's default (the OIDC
			// provider) go through the redacting logger too.
			slog.SetDefault(log)
			srv, err := app.Start(cmd.Context(), cfg, log, e.stdout)
			if err != nil {
				return err
			}
			// SIGHUP reloads certificate files instead of killing the
			// process (renewed certificates need no restart).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer func() { signal.Stop(hup); close(hup) }()
			go func() {
				for range hup {
					if err := srv.ReloadCertificates(); err != nil {
						log.Warn("certificate reload failed; previous certificate still in service", "err", err)
					} else {
						log.Info("certificates reloaded")
					}
				}
			}()
			return srv.Serve(cmd.Context())
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
}

func newMigrateCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the data directory if needed and apply database migrations",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.CreateIfMissing, func(cmd *cobra.Command, d *app.Data) error {
			cur, latest, err := d.DB.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "database schema at version %d (latest %d)\n", cur, latest)
			return nil
		}),
	}
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

func newConfigCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	print := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults < file < env < flags) with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			return cfg.WriteRedacted(e.stdout)
		},
	}
	config.RegisterFlags(print.Flags())
	cmd.AddCommand(print)
	return cmd
}

func newKeysCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Inspect and rotate organization keys"}
	var org string
	var asJSON bool
	rotate := &cobra.Command{
		Use:   "rotate --org ORG",
		Short: "Give an organization new primary keys; data under old keys stays readable",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			o, err := d.FindOrganization(cmd.Context(), org)
			if err != nil {
				return err
			}
			st, err := d.RotateOrganizationKeys(cmd.Context(), cliActor, o.ID)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, st)
			}
			fmt.Fprintf(e.stdout, "rotated keys of %s (%s): version %d, %d keys, primary key %d\n", o.Slug, o.ID, st.Version, st.AEADKeys, st.PrimaryKeyID)
			return nil
		}),
	}
	rotate.Flags().StringVar(&org, "org", "", "organization id or slug (required)")
	rotate.Flags().BoolVar(&asJSON, "json", false, "print the new key status as JSON")
	_ = rotate.MarkFlagRequired("org")
	config.RegisterFlags(rotate.Flags(), config.GroupData)

	var statusJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "List every organization's key version and age (never the keys)",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			sts, err := d.Keys.Statuses(cmd.Context())
			if err != nil {
				return err
			}
			if statusJSON {
				return printJSON(e.stdout, map[string]any{"root_key": d.Keys.RootKeyID(), "organizations": sts})
			}
			fmt.Fprintf(e.stdout, "root key: %s\n", d.Keys.RootKeyID())
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ORGANIZATION\tVERSION\tKEYS\tPRIMARY\tROTATED\tAGE")
			for _, s := range sts {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", s.Org, s.Version, s.AEADKeys, s.PrimaryKeyID,
					s.RotatedAt.Format(time.RFC3339), d.Now().Sub(s.RotatedAt).Round(time.Minute))
			}
			return tw.Flush()
		}),
	}
	status.Flags().BoolVar(&statusJSON, "json", false, "print as JSON")
	config.RegisterFlags(status.Flags(), config.GroupData)
	cmd.AddCommand(rotate, status, newKeysRotateSigningCmd(e))
	return cmd
}

func newAuditCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the tamper-evident audit log"}
	var org string
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify [--org ORG]",
		Short: "Walk the hash chains and signed checkpoints; exit 3 naming the first altered, removed or reordered entry",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			scope := audit.AllOrgs
			if org != "" {
				o, err := d.FindOrganization(cmd.Context(), org)
				if err != nil {
					return err
				}
				scope = o.ID
			}
			rep, err := d.VerifyAudit(cmd.Context(), cliActor, scope)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(e.stdout, rep); err != nil {
					return err
				}
			} else {
				printReport(e.stdout, rep)
			}
			if !rep.OK() {
				p := rep.Problems[0]
				return &exitError{code: exitTampered, err: errs.E(errs.Integrity, "audit.verify",
					fmt.Sprintf("audit log verification failed: %s (organization %q, entry %d)", p.Message, p.Org, p.Seq))}
			}
			return nil
		}),
	}
	verify.Flags().StringVar(&org, "org", "", "verify only this organization (id or slug); default: every chain")
	verify.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	config.RegisterFlags(verify.Flags(), config.GroupData)
	cmd.AddCommand(verify)
	return cmd
}

func printReport(w io.Writer, rep audit.Report) {
	if rep.OK() {
		fmt.Fprintf(w, "audit log intact: %d chains, %d entries, %d signed checkpoints verified\n", rep.Chains, rep.Entries, rep.Checkpoints)
		return
	}
	fmt.Fprintf(w, "audit log TAMPERED: %d of %d chains broken\n", len(rep.Problems), rep.Chains)
	for _, p := range rep.Problems {
		name := p.Org
		if name == "" {
			name = "(platform)"
		}
		fmt.Fprintf(w, "  %s: entry %d %s: %s\n", name, p.Seq, strings.ToUpper(p.Kind), p.Message)
	}
}

func newAdminCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operator tasks: organizations"}
	orgCmd := &cobra.Command{Use: "org", Short: "Manage organizations (tenants)"}
	var name, slug string
	var asJSON bool
	create := &cobra.Command{
		Use:   "create --name NAME --slug SLUG",
		Short: "Create an organization with its own encryption keys",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.CreateIfMissing, func(cmd *cobra.Command, d *app.Data) error {
			o, err := d.CreateOrganization(cmd.Context(), cliActor, name, slug)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, map[string]string{"id": o.ID, "slug": o.Slug})
			}
			fmt.Fprintf(e.stdout, "created organization %s (%s)\n", o.Slug, o.ID)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "display name (required)")
	create.Flags().StringVar(&slug, "slug", "", "short unique name used in logins and URLs (required)")
	create.Flags().BoolVar(&asJSON, "json", false, `print {"id","slug"} as JSON`)
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("slug")
	config.RegisterFlags(create.Flags(), config.GroupData)
	orgCmd.AddCommand(create, newAdminOrgDeleteCmd(e))
	cmd.AddCommand(orgCmd, newAdminUserCmd(e), newAdminBootstrapCmd(e), newAdminClientCmd(e))
	return cmd
}

func newAdminBootstrapCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Print a fresh one-time link that creates the first platform operator (earlier links stop working)",
		Long: "Print a fresh one-time link that creates the first platform operator, for when the one `rampart serve`\n" +
			"printed at start-up was missed or has expired. The link is valid for 1 hour and replaces earlier ones.\n" +
			"It names public_url (set --public-url when the server runs elsewhere than https://localhost:8443).",
		Args: cobra.NoArgs,
		RunE: dataRunE(e, app.CreateIfMissing, func(cmd *cobra.Command, d *app.Data) error {
			l, err := d.Identity.IssueBootstrapLink(cmd.Context(), cliActor)
			if errs.KindOf(err) == errs.Conflict {
				return &hinted{err: err, hints: []string{
					"sign in to the organization \"" + identity.PlatformOrgSlug + "\" as an operator, or add one with:",
					"rampart admin user create --org " + identity.PlatformOrgSlug + " --email EMAIL --password-stdin --role owner",
				}}
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, l)
			}
			fmt.Fprint(e.stdout, app.BootstrapLine(l))
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"url","expires_at"} as JSON`)
	// All groups: the link is built from public_url.
	config.RegisterFlags(cmd.Flags())
	return cmd
}

func newAdminUserCmd(e env) *cobra.Command {
	userCmd := &cobra.Command{Use: "user", Short: "Manage members of an organization"}
	var org, email, pw string
	var roles []string
	var fromStdin, asJSON bool
	create := &cobra.Command{
		Use:   "create --org SLUG --email EMAIL (--password P | --password-stdin) [--role ROLE]",
		Short: "Create a member (the organization's password policy applies)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fromStdin == (pw != "") {
				return errs.E(errs.Invalid, "admin.user.create", "give the password with exactly one of --password or --password-stdin")
			}
			if fromStdin {
				b, err := io.ReadAll(io.LimitReader(e.stdin, 4096))
				if err != nil {
					return errs.E(errs.Invalid, "admin.user.create", "cannot read the password from standard input", err)
				}
				pw = strings.TrimRight(string(b), "\r\n")
			}
			d, err := openData(cmd, e, app.MustExist)
			if err != nil {
				return err
			}
			defer d.Close()
			o, err := d.FindOrganization(cmd.Context(), org)
			if err != nil {
				return err
			}
			u, err := d.Identity.CreateUserAsOperator(cmd.Context(), cliActor, o.ID, identity.NewUser{Email: email, Password: pw, Roles: roles})
			if err != nil {
				return withViolations(err)
			}
			if asJSON {
				return printJSON(e.stdout, map[string]string{"id": u.ID})
			}
			fmt.Fprintf(e.stdout, "created %s in %s with roles %s (%s)\n", u.Email, o.Slug, strings.Join(u.Roles, ", "), u.ID)
			return nil
		},
	}
	create.Flags().StringVar(&org, "org", "", "organization id or slug (required)")
	create.Flags().StringVar(&email, "email", "", "the member's email address (required)")
	create.Flags().StringVar(&pw, "password", "", "initial password (visible in process listings: prefer --password-stdin)")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	create.Flags().StringSliceVar(&roles, "role", nil, "role to grant (repeatable): owner, admin, member, auditor or a custom role; default member")
	create.Flags().BoolVar(&asJSON, "json", false, `print {"id"} as JSON`)
	_ = create.MarkFlagRequired("org")
	_ = create.MarkFlagRequired("email")
	config.RegisterFlags(create.Flags(), config.GroupData)
	userCmd.AddCommand(create)
	return userCmd
}

// withViolations adds each failed password rule as a hint line.
func withViolations(err error) error {
	v := password.Violations(err)
	if len(v) == 0 {
		return err
	}
	h := &hinted{err: err}
	for _, x := range v {
		h.hints = append(h.hints, x.Rule+": "+x.Message)
	}
	return h
}
