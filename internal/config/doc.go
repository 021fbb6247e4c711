// Package config owns Rampart's settings: one Config struct, filled from four
// layers and checked as a whole before anything else starts.
//
// # Layers
//
// Each setting has a YAML path, an environment variable and (for most) a
// command-line flag. A later layer overrides an earlier one:
//
//  1. defaults (Default);
//  2. the YAML file named by --config, or by RAMPART_CONFIG when the flag is
//     not given (no file when both are empty);
//  3. RAMPART_* environment variables;
//  4. command-line flags, but only those actually given on the command line.
//
// Every layer hands raw strings (YAML scalars, environment values, flag
// arguments) to the same parser for the setting, so a bad value is reported
// in the same words whichever layer it came from. Every value from every layer
// is checked, even one that a later layer overrides: a broken file is
// reported rather than hidden behind an environment variable.
//
// # Errors
//
// Load reports every problem at once, one per line, in a stable order (file
// in document order, then environment, then flags, then rules that tie
// settings together). A line names the setting by YAML path, environment
// variable and flag, the rule, and the bad value, for example
//
//	listen.https (RAMPART_LISTEN_HTTPS, --listen-https): "abc" is not a host:port address
//	config file /etc/rampart.yaml: line 4: unknown setting "listen.htps"
//	RAMPART_LISTEN_HTPS: unknown setting
//
// Unknown keys in the file and unknown RAMPART_* variables are errors, so a
// typo never silently leaves a default in force. The RAMPART_* variables
// that are not settings are allowed: RAMPART_CONFIG (the file, when --config
// is not given), RAMPART_TEST_* and RAMPART_BOOTSTRAP_* (the allow-list is
// nonSettingEnv in load.go). The report stops listing after 100 problems.
//
// # Secrets
//
// database_url may carry a password. It is never printed: WriteRedacted and
// error messages replace the password (or, when the value cannot be parsed,
// the whole value) with "[REDACTED]".
//
// # Purity
//
// Loading reads the config file and the environment and nothing else: it
// creates no directory, opens no socket and checks no path for existence.
// Paths derived from data_dir (SQLitePath, RootKeyPath, ACMECacheDir) are
// computed, not created; the packages that use them do that.
package config
