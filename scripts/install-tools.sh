#!/usr/bin/env bash
# Install the pinned Go tools (staticcheck, gosec, govulncheck) into
# $(go env GOPATH)/bin, built with go1.26.10 (GOTOOLCHAIN). A tool is rebuilt
# only when `go version -m` shows another version or Go toolchain, so a rerun
# takes about a second. Versions are pinned in scripts/lib.sh.
#
# Missing tools are built concurrently (downloads and linking overlap the
# compile of the others). A cold install is dominated by gosec, whose
# dependencies include several large SDKs: a few minutes on 2 idle cores.
#
# Usage: scripts/install-tools.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

start=$SECONDS
log "Go toolchain: $GO_VERSION_IN_USE (GOTOOLCHAIN=$GOTOOLCHAIN); tools are built with $RAMPART_GO_TOOLCHAIN_DEFAULT"

logs="$(mktemp -d "${TMPDIR:-/tmp}/rampart-tools.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

missing=()
for spec in "${RAMPART_TOOLS[@]}"; do
	name="${spec%%|*}"
	if tool_is_current "$name"; then
		log "$name $(_tool_field "$name" 4) already installed"
	else
		missing+=("$name")
	fi
done

if [[ ${#missing[@]} -gt 0 ]]; then
	# Make sure the toolchain itself is downloaded once, before the jobs race.
	GOTOOLCHAIN="$RAMPART_GO_TOOLCHAIN_DEFAULT" go version >/dev/null
	pids=()
	for name in "${missing[@]}"; do
		(ensure_tool "$name") >"$logs/$name.log" 2>&1 &
		pids+=($!)
	done
	failed=()
	for i in "${!missing[@]}"; do
		name="${missing[$i]}"
		rc=0
		wait "${pids[$i]}" || rc=$?
		grep -v '^go: downloading ' "$logs/$name.log" || true
		if [[ $rc -ne 0 ]]; then
			cat "$logs/$name.log" >&2
			failed+=("$name")
		fi
	done
	[[ ${#failed[@]} -eq 0 ]] || die "could not install: ${failed[*]}"
fi

echo "Installed tools ($TOOLS_BIN):"
for spec in "${RAMPART_TOOLS[@]}"; do
	name="${spec%%|*}"
	info="$(go version -m "$TOOLS_BIN/$name")"
	# first line "<file>: go1.x.y"; then "mod <module> <version> <sum>"
	built="$(awk 'NR == 1 {print $2}' <<<"$info")"
	ver="$(awk '$1 == "mod" && !seen {print $3; seen = 1}' <<<"$info")"
	printf '  %-12s %-8s (built with %s)\n' "$name" "$ver" "$built"
done
printf '  (staticcheck -version: %s)\n' "$("$TOOLS_BIN/staticcheck" -version)"
log "tools ready in $((SECONDS - start))s"
