package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
)

// newAdminOrgDeleteCmd is the operator's confirmation of an owner's
// deletion request (the API's DELETE /api/v1/organizations/{id}).
func newAdminOrgDeleteCmd(e env) *cobra.Command {
	var org, confirm string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "delete --org SLUG --confirm SLUG",
		Short: "Crypto-shred an organization whose owner asked for its deletion",
		Long: "Destroys the organization's encryption keys (every copy of its data, backups included, becomes\n" +
			"unreadable), deletes all of its rows and keeps a tombstone that restores apply. An owner must\n" +
			"have requested the deletion first (POST /api/v1/organization/deletion); --confirm repeats the\n" +
			"slug. This cannot be undone.",
		Args: cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			del, err := d.DeleteOrganization(cmd.Context(), cliActor, org, confirm)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, del)
			}
			var total int64
			tables := make([]string, 0, len(del.Rows))
			for t, n := range del.Rows {
				total += n
				tables = append(tables, t)
			}
			sort.Strings(tables)
			fmt.Fprintf(e.stdout, "deleted organization %s (%s): keys destroyed, %d rows deleted from %d tables\n", del.Slug, del.OrgID, total, len(tables))
			return nil
		}),
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's slug or id (required)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "the organization's slug again (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the deletion report as JSON")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("confirm")
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}
