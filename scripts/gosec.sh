#!/usr/bin/env bash
# Run gosec (pinned in scripts/lib.sh) over ./... and fail on HIGH-severity
# findings of at least MEDIUM confidence. No rule is excluded globally.
#
# A justified exception is a comment on (or right above) the flagged line,
# with the rule ID(s) and a reason - both are required (-nosec-require-rules,
# -nosec-require-justification), a bare "#nosec" is itself reported as an error:
#     n := int32(v) // #nosec G115 -- v is checked against math.MaxInt32 above
#     //gosec:disable G304 -- path is joined onto our own data dir
# _test.go files are not scanned (gosec's default); generated files (with a
# "// Code generated ... DO NOT EDIT." header) are skipped.
#
# Usage: scripts/gosec.sh [extra gosec flags] [packages]   (default ./...)
# Environment: BUILD_TAGS=tag1,tag2 to scan files behind build tags too.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

ensure_tool gosec >/dev/null

args=(
	-severity high
	-confidence medium
	-nosec-require-rules
	-nosec-require-justification
	-exclude-generated
	-fmt text
	# The PocketBase yardstick is its own module on Go 1.27 and not
	# Rampart's code (bench/pocketbase/run.sh builds it).
	-exclude-dir=bench/pocketbase
)
# Plain text in CI logs and pipes, colours on a terminal.
if [[ -t 1 && "${CI:-}" != "true" ]]; then
	args+=(-color=true)
else
	args+=(-color=false)
fi
[[ -n "$BUILD_TAGS" ]] && args+=(-tags "$BUILD_TAGS")

pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || pkgs=(./...)

log "gosec $(_tool_field gosec 4) (${GO_VERSION_IN_USE}): gosec ${args[*]} ${pkgs[*]}"
start=$SECONDS
out="$(mktemp "${TMPDIR:-/tmp}/rampart-gosec.XXXXXX")"
trap 'rm -f "$out"' EXIT
rc=0
# gosec logs one "[gosec] ..." line per package to stderr; keep those out
# of the log unless it fails in a way that has no report.
"$TOOLS_BIN/gosec" "${args[@]}" "${pkgs[@]}" 2>"$out" || rc=$?
if [[ $rc -ne 0 ]]; then
	grep -v -E '^\[gosec\] [0-9/]+ [0-9:]+ (Import directory|Checking (package|file)|(In|Ex)cluding (rules|analyzers)):' "$out" >&2 || true
fi
if [[ $rc -eq 0 ]]; then
	log "gosec: no HIGH-severity findings ($((SECONDS - start))s)"
else
	printf '\nFAIL: gosec reported HIGH-severity issues or errors (exit %d) - see above.\n' "$rc" >&2
	printf 'Fix the code, or if it is a false positive add  // #nosec Gxxx -- <reason>  on that line.\n' >&2
fi
exit "$rc"
