#!/usr/bin/env bash
# Lint the Go code: gofmt -l (any listed file fails), go vet ./...,
# staticcheck ./... (pinned in scripts/lib.sh). All three always run; the
# script fails at the end if any of them failed.
#
# gofmt checks the tracked and untracked-but-not-ignored *.go files
# (git ls-files), minus vendor/ and testdata/. Fix with:  gofmt -w <file>
#
# Usage: scripts/lint.sh
# Environment: BUILD_TAGS=tag1,tag2 to also vet/check files behind build tags.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

ensure_tool staticcheck >/dev/null

failed=()
tags=()
[[ -n "$BUILD_TAGS" ]] && tags=(-tags "$BUILD_TAGS")

# --- gofmt -------------------------------------------------------------------
log "gofmt -l"
t=$SECONDS
list="$(mktemp "${TMPDIR:-/tmp}/rampart-lint.XXXXXX")"
trap 'rm -f "$list"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard -- '*.go' >"$list"
else
	find . -name '*.go' -not -path './.git/*' -print0 >"$list"
fi
# keep existing files, drop vendor/ and testdata/
files=()
while IFS= read -r -d '' f; do
	f="${f#./}"
	[[ -f "$f" ]] || continue
	[[ "$f" == vendor/* || "$f" == */testdata/* || "$f" == testdata/* ]] && continue
	files+=("$f")
done <"$list"
if [[ ${#files[@]} -eq 0 ]]; then
	log "gofmt: no Go files"
else
	gofmt_rc=0
	unformatted="$(printf '%s\0' "${files[@]}" | xargs -0 gofmt -l)" || gofmt_rc=$?
	if [[ -n "$unformatted" ]]; then
		printf 'FAIL: these files are not gofmt-formatted (run: gofmt -w <file>):\n' >&2
		sed 's/^/  /' <<<"$unformatted" >&2
		failed+=(gofmt)
	elif [[ $gofmt_rc -ne 0 ]]; then
		printf 'FAIL: gofmt exited %d (syntax error?)\n' "$gofmt_rc" >&2
		failed+=(gofmt)
	else
		log "gofmt: ${#files[@]} files OK ($((SECONDS - t))s)"
	fi
fi

# --- go vet --------------------------------------------------------------------
log "go vet ${tags[*]:+${tags[*]} }./..."
t=$SECONDS
if go vet "${tags[@]}" ./...; then
	log "go vet: OK ($((SECONDS - t))s)"
else
	printf 'FAIL: go vet reported problems (above)\n' >&2
	failed+=("go vet")
fi

# The benchmark-only build (encryption off) must keep compiling.
log "go vet -tags rampart_noencrypt ./internal/keys ./cmd/rampart"
if ! go vet -tags rampart_noencrypt ./internal/keys ./cmd/rampart; then
	printf 'FAIL: go vet of the benchmark-only build (-tags rampart_noencrypt) reported problems (above)\n' >&2
	failed+=("go vet rampart_noencrypt")
fi

# --- staticcheck ------------------------------------------------------------------
log "staticcheck $(_tool_field staticcheck 4): staticcheck ${tags[*]:+${tags[*]} }./..."
t=$SECONDS
if "$TOOLS_BIN/staticcheck" "${tags[@]}" ./...; then
	log "staticcheck: OK ($((SECONDS - t))s)"
else
	printf 'FAIL: staticcheck reported problems (above)\n' >&2
	failed+=(staticcheck)
fi

if [[ ${#failed[@]} -gt 0 ]]; then
	printf '\nlint FAILED: %s\n' "${failed[*]}" >&2
	exit 1
fi
log "lint: all checks passed"
