package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rampart-platform/rampart/internal/app"
	"github.com/rampart-platform/rampart/internal/config"
	"github.com/rampart-platform/rampart/internal/errs"
	"github.com/rampart-platform/rampart/internal/logx"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitTampered = 3
)

// env is the process's outside world, injected so tests run commands in
// process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// hinted adds "hint:" lines to an error printed by the CLI.
type hinted struct {
	err   error
	hints []string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if errs.KindOf(err) == errs.Invalid || isUsageError(err) {
		code = exitUsage
	}
	fmt.Fprintln(e.stderr, "rampart: "+describe(err))
	var h *hinted
	if errors.As(err, &h) {
		for _, line := range h.hints {
			fmt.Fprintln(e.stderr, "hint: "+line)
		}
	}
	return code
}

// describe renders an error for the operator: the safe message when there is
// one (the whole configuration report, for instance), otherwise the full
// chain, in both cases scrubbed of anything secret-looking.
func describe(err error) string {
	msg := errs.SafeMessage(err)
	if msg == "" || errs.KindOf(err) == errs.Unavailable || errs.KindOf(err) == errs.Other {
		var e *errs.Error
		if errors.As(err, &e) && e.Err != nil && msg != "" {
			msg += ": " + e.Err.Error()
		} else if msg == "" {
			msg = err.Error()
		}
	}
	return logx.RedactString(msg)
}

func isUsageError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.Contains(s, "flag needs an argument") ||
		strings.HasPrefix(s, "required flag") || strings.HasPrefix(s, "invalid argument") ||
		strings.HasPrefix(s, "accepts ")
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:           "rampart",
		Short:         "Rampart: a security-first, multi-tenant backend platform",
		Long:          "Rampart serves an HTTPS API with encrypted tenant data, a tamper-evident audit log and every protection on by default.\nRun `rampart serve` to start the embedded default (SQLite, local root key, development certificate).",
		Version:       app.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(newServeCmd(e), newMigrateCmd(e), newConfigCmd(e), newKeysCmd(e), newAuditCmd(e), newAdminCmd(e),
		newBackupCmd(e), newRestoreCmd(e), newDRCmd(e), newKYCServiceCmd(e))
	return root
}

// loadConfig applies the configuration layers for a command.
func loadConfig(fs *pflag.FlagSet, e env) (config.Config, error) {
	return config.Load(config.Sources{Flags: fs, Environ: func() []string { return e.environ }, LookupEnv: lookupIn(e.environ)})
}

func lookupIn(environ []string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for i := len(environ) - 1; i >= 0; i-- {
			if name, v, ok := strings.Cut(environ[i], "="); ok && name == k {
				return v, true
			}
		}
		return "", false
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	return logx.New(w, logx.Options{Format: cfg.Log.Format, Level: lvl})
}

// openData loads the configuration and opens the instance for a data command.
func openData(cmd *cobra.Command, e env, mode app.OpenMode) (*app.Data, error) {
	cfg, err := loadConfig(cmd.Flags(), e)
	if err != nil {
		return nil, err
	}
	d, err := app.OpenData(cmd.Context(), cfg, newLogger(cfg, e.stderr), mode)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
