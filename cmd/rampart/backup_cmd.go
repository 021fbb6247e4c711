package main

// Backup, restore and disaster-recovery drill commands (issue 8).

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/backup"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
)

func newBackupCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Encrypted backups: keygen, create, list, verify, prune"}
	cmd.AddCommand(newBackupKeygenCmd(e), newBackupCreateCmd(e), newBackupListCmd(e), newBackupVerifyCmd(e), newBackupPruneCmd(e))
	return cmd
}

func newBackupKeygenCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an age key pair: the recipient goes into backup.recipients, the identity goes offline",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kp, err := backup.GenerateKeyPair()
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, kp)
			}
			fmt.Fprintf(e.stdout, "# created: %s\n# recipient (public key, for backup.recipients): %s\n%s\n",
				time.Now().UTC().Format(time.RFC3339), kp.Recipient, kp.Identity)
			fmt.Fprintln(e.stderr, "Store the identity (AGE-SECRET-KEY-1...) offline, apart from the server and from root.key:")
			fmt.Fprintln(e.stderr, "it is needed only by `rampart backup verify`, `rampart restore` and `rampart dr drill`.")
			fmt.Fprintln(e.stderr, "Put the recipient into backup.recipients (RAMPART_BACKUP_RECIPIENTS).")
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"recipient","identity"} as JSON`)
	return cmd
}

// progress returns a byte counter drawn on stderr when it is a terminal and
// the output is not JSON, or nil.
func progress(e env, asJSON bool, what string) (func(int64), func()) {
	f, ok := e.stderr.(*os.File)
	if asJSON || !ok || !term.IsTerminal(int(f.Fd())) { // #nosec G115 -- a file descriptor
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(what), progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond))
	return func(n int64) { _ = bar.Add64(n) }, func() { _ = bar.Finish() }
}

func newBackupCreateCmd(e env) *cobra.Command {
	var recipients []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create [--recipient age1...]...",
		Short: "Take a consistent snapshot now, encrypt it to the recipients and store it in backup.target",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			prog, done := progress(e, asJSON, "backup")
			info, err := d.CreateBackup(cmd.Context(), cliActor, recipients, prog)
			done()
			if err != nil {
				if err == backup.ErrNoRecipients {
					return &hinted{err: err, hints: []string{"rampart backup keygen   # then set RAMPART_BACKUP_RECIPIENTS=age1..."}}
				}
				return err
			}
			if asJSON {
				return printJSON(e.stdout, map[string]any{"id": info.ID, "created_at": info.CreatedAt, "size": info.Size})
			}
			fmt.Fprintf(e.stdout, "backup %s: %s, %d rows, encrypted to %d recipient(s), in %s\n",
				info.ID, humanBytes(info.Size), info.Rows, info.Recipients, d.Config.BackupTarget())
			return nil
		}),
	}
	cmd.Flags().StringSliceVar(&recipients, "recipient", nil, "age recipient (age1...) to encrypt to (repeatable); default backup.recipients")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"id","created_at","size"} as JSON`)
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

func newBackupListCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the backups in backup.target with age, size and verified status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			t, err := backup.TargetFromConfig(cfg)
			if err != nil {
				return err
			}
			all, err := backup.List(cmd.Context(), t)
			if err != nil {
				return err
			}
			if asJSON {
				if all == nil {
					all = []backup.Info{}
				}
				return printJSON(e.stdout, map[string]any{"target": t.String(), "backups": all})
			}
			if len(all) == 0 {
				fmt.Fprintf(e.stdout, "no backups in %s\n", t)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tAGE\tSIZE\tROWS\tVERIFIED")
			for _, b := range all {
				ver := "never"
				if b.Verified != nil {
					ver = "ok " + b.Verified.At.Format(time.RFC3339)
					if !b.Verified.OK {
						ver = "FAILED " + b.Verified.At.Format(time.RFC3339)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", b.ID, b.CreatedAt.Format(time.RFC3339),
					time.Since(b.CreatedAt).Round(time.Minute), humanBytes(b.Size), b.Rows, ver)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

// liveData opens the instance the flags name if there is one, for audit
// entries of commands that also run where only backups survived.
func liveData(cmd *cobra.Command, e env) *app.Data {
	d, err := openData(cmd, e, app.MustExist)
	if err != nil {
		return nil
	}
	return d
}

// readIdentity reads the --identity file; it is required.
func readIdentity(path string) ([]age.Identity, error) {
	if path == "" {
		return nil, errs.E(errs.Invalid, "backup", "give the age identity file with --identity FILE (made by `rampart backup keygen`)")
	}
	return backup.ParseIdentities(path)
}

func newBackupVerifyCmd(e env) *cobra.Command {
	var identity string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify ID --identity FILE",
		Short: "Decrypt a backup apart from the live instance and check hashes, integrity and audit chains",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			live := liveData(cmd, e)
			if live != nil {
				defer live.Close()
			}
			prog, done := progress(e, asJSON, "decrypting")
			v, err := app.VerifyBackup(cmd.Context(), cfg, newLogger(cfg, e.stderr), live, cliActor, args[0], ids, prog)
			done()
			if asJSON && (err == nil || errs.KindOf(err) == errs.Integrity) {
				if perr := printJSON(e.stdout, v); perr != nil {
					return perr
				}
			}
			if err != nil {
				if errs.KindOf(err) == errs.Integrity {
					return &exitError{code: exitTampered, err: err}
				}
				return err
			}
			if !asJSON {
				fmt.Fprintf(e.stdout, "backup %s verified: %d tables, %d rows, %d audit entries in %d chains\n",
					args[0], v.Tables, v.Rows, v.AuditEntries, v.AuditChains)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file (AGE-SECRET-KEY-1...) (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verification as JSON")
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

func newBackupPruneCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete the backups backup.retention.* does not keep (never the newest verified one)",
		Args:  cobra.NoArgs,
		RunE: dataRunE(e, app.MustExist, func(cmd *cobra.Command, d *app.Data) error {
			deleted, err := d.PruneBackups(cmd.Context(), cliActor)
			if err != nil {
				return err
			}
			if asJSON {
				ids := make([]string, 0, len(deleted))
				for _, b := range deleted {
					ids = append(ids, b.ID)
				}
				return printJSON(e.stdout, map[string]any{"deleted": ids})
			}
			fmt.Fprintf(e.stdout, "pruned %d backup(s)\n", len(deleted))
			for _, b := range deleted {
				fmt.Fprintf(e.stdout, "  %s\n", b.ID)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"deleted":[ids]} as JSON`)
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

func newRestoreCmd(e env) *cobra.Command {
	var identity, to, toDB string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore ID --identity FILE --to DIR [--to-database-url URL]",
		Short: "Restore a backup into a new instance (applying every crypto-shred tombstone first)",
		Long: "Restore a backup into a new, empty data directory DIR (and, for a PostgreSQL backup, the empty database or\n" +
			"schema --to-database-url). The root key of the backed-up instance (--root-key-file, default <data_dir>/root.key)\n" +
			"is copied to DIR/root.key: it is not in the archive. Every tombstone in backup.target is applied before the\n" +
			"command returns. Then start it with: rampart serve --data-dir DIR [--database-url URL]",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			prog, done := progress(e, asJSON, "restoring")
			res, err := app.RestoreBackup(cmd.Context(), cfg, newLogger(cfg, e.stderr), args[0], ids, to, toDB, prog)
			done()
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "restored backup %s (%s) into %s: %d tables, %d rows, %d tombstone(s) applied\n",
				res.Backup.ID, res.Backup.CreatedAt.Format(time.RFC3339), res.Dir, res.Tables, res.Rows, res.Tombstones)
			start := "rampart serve --data-dir " + res.Dir
			if toDB != "" {
				start += " --database-url URL"
			}
			fmt.Fprintf(e.stdout, "start it with: %s\n", start)
			return nil
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file (AGE-SECRET-KEY-1...) (required)")
	cmd.Flags().StringVar(&to, "to", "", "new data directory; must not exist or be empty (required)")
	cmd.Flags().StringVar(&toDB, "to-database-url", "", "PostgreSQL backups: the new instance's empty database (or schema via search_path)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	_ = cmd.MarkFlagRequired("to")
	config.RegisterFlags(cmd.Flags(), config.GroupData)
	return cmd
}

func newDRCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "dr", Short: "Disaster recovery"}
	var identity string
	var asJSON bool
	drill := &cobra.Command{
		Use:   "drill --identity FILE",
		Short: "Restore the newest backup into a temporary instance, serve it on loopback, probe it, report RTO and RPO",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.Flags(), e)
			if err != nil {
				return err
			}
			live := liveData(cmd, e)
			if live != nil {
				defer live.Close()
			}
			res, err := app.DRDrill(cmd.Context(), cfg, newLogger(cfg, e.stderr), live, cliActor, ids)
			if asJSON {
				if perr := printJSON(e.stdout, res); perr != nil {
					return perr
				}
			} else if res.BackupID != "" {
				status := "PASSED"
				if !res.OK {
					status = "FAILED"
				}
				fmt.Fprintf(e.stdout, "DR drill %s: backup %s restored and served\n  RTO %.1fs (restore until ready), RPO %s (age of the data)\n",
					status, res.BackupID, res.RTOSeconds, (time.Duration(res.RPOSeconds) * time.Second).String())
				fmt.Fprintf(e.stdout, "  %d tables, %d rows, %d tombstone(s) applied, %d audit entries verified, %d sample reads\n",
					res.Tables, res.Rows, res.Tombstones, res.AuditEntries, res.SampleReads)
				var checks []string
				for _, k := range []string{"restore", "/healthz", "/readyz", "audit", "keys", "records"} {
					if v, ok := res.Checks[k]; ok {
						checks = append(checks, k+" "+v)
					}
				}
				fmt.Fprintf(e.stdout, "  checks: %s\n", strings.Join(checks, ", "))
			}
			return err
		},
	}
	drill.Flags().StringVar(&identity, "identity", "", "age identity file (AGE-SECRET-KEY-1...) (required)")
	drill.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	config.RegisterFlags(drill.Flags(), config.GroupData)
	cmd.AddCommand(drill)
	return cmd
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
