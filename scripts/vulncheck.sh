#!/usr/bin/env bash
# Run govulncheck OFFLINE against a local copy of the Go vulnerability
# database (the public DB host is not reachable here; the Go module proxy is).
#
# How the local DB is made:
#   1. The newest golang.org/x/vulndb module version the proxy serves (or
#      $VULNDB_VERSION) is fetched with `go mod download`; its data/osv/*.json
#      are the OSV entries that vuln.go.dev serves.
#   2. x/vulndb's own generator, cmd/gendb (pinned: $GENDB_VERSION below), is
#      built once into the cache. gendb only reads a *git repository*
#      (go-git PlainOpen; entries are read from HEAD's tree and their
#      published/modified times come from the commit dates of data/osv), and
#      the module zip has no .git, so we make a throwaway one-commit repo whose
#      work tree is the read-only module dir, dated with the module's own
#      commit time, and run `gendb -repo <tmp repo> -out <db dir>`.
#   3. The result (index/db.json, index/modules.json, index/vulns.json,
#      ID/GO-YYYY-NNNN.json - the layout `govulncheck -db file://` reads) is
#      cached in $VULNDB_CACHE/<vulndb version>, so reruns skip 1-2.
# Then: govulncheck -db file://<db dir> ./...   (from the repo root).
#
# Exit status: 0 clean; 3 = govulncheck found a vulnerability that our code
# calls (govulncheck's own code, passed through); anything else = error.
#
# Usage: scripts/vulncheck.sh [--prepare-db] [govulncheck args...]
#   --prepare-db   only make sure the DB is built/cached, don't scan
#   args           replace the default "./..." (e.g. -show verbose ./...)
# Environment:
#   VULNDB_VERSION  golang.org/x/vulndb version to use (default: latest)
#   VULNDB_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/rampart/vulndb)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

VULNDB_MODULE=golang.org/x/vulndb
# gendb is a tool, so it is pinned; the data comes from $VULNDB_VERSION.
GENDB_VERSION=v0.0.0-20261105234957-e22db6528018
VULNDB_VERSION="${VULNDB_VERSION:-latest}"
VULNDB_CACHE="${VULNDB_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rampart/vulndb}"

prepare_only=false
if [[ "${1:-}" == "--prepare-db" ]]; then
	prepare_only=true
	shift
fi
if [[ $# -eq 0 ]]; then
	set -- ./...
fi

start=$SECONDS
mkdir -p "$VULNDB_CACHE"
work="$(mktemp -d "${TMPDIR:-/tmp}/rampart-vulndb.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# json_field FIELD <json: prints the string value of a top-level field of
# `go ... -json` output (flat, one "Key": value per line).
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\{0,1\}\$/\\1/p" | head -n1; }

# --- 1. which vulndb version ------------------------------------------------
# Run go outside the repo so our go.mod and GOFLAGS cannot interfere.
db_dir=""
if info="$(cd "$work" && GOWORK=off GOFLAGS='' go list -m -json "$VULNDB_MODULE@$VULNDB_VERSION" 2>"$work/list.err")"; then
	version="$(json_field Version <<<"$info")"
	vtime="$(json_field Time <<<"$info")"
	[[ -n "$version" && -n "$vtime" ]] || die "could not parse 'go list -m -json $VULNDB_MODULE@$VULNDB_VERSION' output"
	db_dir="$VULNDB_CACHE/$version"
else
	cat "$work/list.err" >&2
	# Proxy unreachable: fall back to the newest DB already generated.
	# shellcheck disable=SC2012 # our own version-named dirs
	newest="$(ls -1t "$VULNDB_CACHE"/*/.complete 2>/dev/null | head -n1 || true)"
	[[ -n "$newest" ]] || die "cannot resolve $VULNDB_MODULE@$VULNDB_VERSION via the module proxy and no cached DB in $VULNDB_CACHE"
	db_dir="$(dirname "$newest")"
	version="$(basename "$db_dir")"
	vtime="$(sed -n 's/^time=//p' "$db_dir/.complete")"
	warn "could not resolve $VULNDB_MODULE@$VULNDB_VERSION; using cached DB $version"
fi

age_days="?"
if vt_s="$(date -u -d "$vtime" +%s 2>/dev/null)"; then
	age_days=$((($(date -u +%s) - vt_s) / 86400))
fi
log "Go vulnerability DB: $VULNDB_MODULE@$version, data as of $vtime ($age_days days old)"

# --- 2. build + cache the DB ---------------------------------------------------
if [[ -f "$db_dir/.complete" ]]; then
	log "using cached DB $db_dir"
else
	gen_start=$SECONDS
	moddir="$(cd "$work" && GOWORK=off GOFLAGS='' go mod download -json "$VULNDB_MODULE@$version" | json_field Dir)" ||
		die "go mod download $VULNDB_MODULE@$version failed"
	[[ -n "$moddir" && -d "$moddir/data/osv" ]] || die "go mod download $VULNDB_MODULE@$version gave no data/osv folder (dir: '$moddir')"
	n_osv="$(find "$moddir/data/osv" -maxdepth 1 -name '*.json' | wc -l)"
	log "fetched $VULNDB_MODULE@$version ($n_osv OSV entries) in $((SECONDS - gen_start))s"

	gendb_dir="$VULNDB_CACHE/.gendb/$GENDB_VERSION"
	if [[ ! -x "$gendb_dir/gendb" ]] ||
		! go version -m "$gendb_dir/gendb" 2>/dev/null | grep -qE "mod[[:space:]]+${VULNDB_MODULE}[[:space:]]+${GENDB_VERSION}"; then
		log "building $VULNDB_MODULE/cmd/gendb@$GENDB_VERSION (one-off, cached in $gendb_dir)"
		t=$SECONDS
		mkdir -p "$gendb_dir"
		(cd "$work" && GOWORK=off GOFLAGS='' GOTOOLCHAIN="$RAMPART_GO_TOOLCHAIN_DEFAULT" GOBIN="$gendb_dir" go install "$VULNDB_MODULE/cmd/gendb@$GENDB_VERSION") ||
			die "building gendb failed"
		log "built gendb in $((SECONDS - t))s"
	fi

	command -v git >/dev/null 2>&1 || die "git is needed to generate the vulnerability DB (apt-get install git)"
	# A one-commit repo whose work tree is the (read-only) module directory:
	# git only reads from it. Its commit date becomes every entry's
	# published/modified time when the OSV file has none.
	repo="$work/repo"
	(
		unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY
		export GIT_AUTHOR_DATE="$vtime" GIT_COMMITTER_DATE="$vtime"
		g=(git -c core.hooksPath=/dev/null -c commit.gpgsign=false -c user.name=vulndb -c user.email=vulndb@localhost
			--git-dir="$repo/.git" --work-tree="$moddir")
		git init -q "$repo"
		"${g[@]}" add -- data/osv
		"${g[@]}" commit -q -m "$VULNDB_MODULE@$version data/osv"
	) || die "could not make the temporary git repo for gendb"

	out="$work/out"
	log "running gendb"
	"$gendb_dir/gendb" -repo "$repo" -out "$out" 2>"$work/gendb.log" || {
		cat "$work/gendb.log" >&2
		die "gendb failed"
	}
	# govulncheck's file:// source reads the plain .json files only.
	find "$out" -name '*.json.gz' -delete
	for f in index/db.json index/modules.json index/vulns.json; do
		[[ -s "$out/$f" ]] || die "gendb output lacks $f"
	done
	n_ids="$(find "$out/ID" -name '*.json' | wc -l)"
	[[ "$n_ids" -eq "$n_osv" ]] || die "gendb wrote $n_ids entries for $n_osv OSV files"
	printf 'version=%s\ntime=%s\ngendb=%s\ngenerated=%s\nentries=%s\n' \
		"$version" "$vtime" "$GENDB_VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$n_ids" >"$out/.complete"

	rm -rf "$db_dir"
	mv "$out" "$db_dir"
	log "generated DB ($n_ids entries) in $db_dir in $((SECONDS - gen_start))s"

	# Keep only this version (older ones are regenerable).
	for old in "$VULNDB_CACHE"/*/; do
		old="${old%/}"
		[[ "$old" != "$db_dir" ]] && rm -rf "$old"
	done
fi

if $prepare_only; then
	log "DB ready in $((SECONDS - start))s: file://$db_dir"
	exit 0
fi

# --- 3. scan --------------------------------------------------------------------
ensure_tool govulncheck >/dev/null
log "govulncheck $(_tool_field govulncheck 4) with $GO_VERSION_IN_USE: govulncheck -db file://$db_dir $*"
scan_start=$SECONDS
rc=0
"$TOOLS_BIN/govulncheck" -db "file://$db_dir" "$@" || rc=$?
case $rc in
0) log "govulncheck: no called vulnerabilities ($((SECONDS - start))s total, scan $((SECONDS - scan_start))s)" ;;
3)
	printf '\nFAIL: govulncheck found vulnerabilities that our code calls (see above).\n' >&2
	printf 'Fix by upgrading the module (go get <module>@<fixed version>) or the Go toolchain.\n' >&2
	;;
*) printf '\nFAIL: govulncheck exited %d (error, not a finding).\n' "$rc" >&2 ;;
esac
exit "$rc"
