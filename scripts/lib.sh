# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; don't run it.
#
# Sourcing this file:
#   - cds to the repository root,
#   - exports GOTOOLCHAIN (go1.26.10 unless RAMPART_GOTOOLCHAIN overrides it),
#   - sets TOOLS_BIN to the first entry of $(go env GOPATH) + /bin and puts it
#     first on PATH,
#   - defines the pinned tool versions and ensure_tool/tool_is_current.

# The one place where the tool versions are pinned.
RAMPART_GO_TOOLCHAIN_DEFAULT=go1.26.10
# name | package path | module path | module version
RAMPART_TOOLS=(
	"staticcheck|honnef.co/go/tools/cmd/staticcheck|honnef.co/go/tools|v0.8.2"
	"gosec|github.com/securego/gosec/v2/cmd/gosec|github.com/securego/gosec/v2|v2.30.0"
	"govulncheck|golang.org/x/vuln/cmd/govulncheck|golang.org/x/vuln|v1.9.0"
)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

export GOTOOLCHAIN="${RAMPART_GOTOOLCHAIN:-$RAMPART_GO_TOOLCHAIN_DEFAULT}"

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (expected /usr/local/go/bin/go)"

_gopath="$(go env GOPATH)" || die "'go env GOPATH' failed (GOTOOLCHAIN=$GOTOOLCHAIN)"
TOOLS_BIN="${_gopath%%:*}/bin"
unset _gopath
export PATH="$TOOLS_BIN:$PATH"

# shellcheck disable=SC2034 # used by the scripts that source this file
GO_VERSION_IN_USE="$(go env GOVERSION)"

# _tool_field NAME FIELD -> prints field (1=name 2=pkg 3=module 4=version)
_tool_field() {
	local spec
	for spec in "${RAMPART_TOOLS[@]}"; do
		if [[ "${spec%%|*}" == "$1" ]]; then
			cut -d'|' -f"$2" <<<"$spec"
			return 0
		fi
	done
	die "unknown tool '$1'"
}

# tool_is_current NAME: 0 if $TOOLS_BIN/NAME was built from the pinned
# package@version with the Go version in use (go version -m), else 1.
tool_is_current() {
	local name="$1" bin="$TOOLS_BIN/$1" pkg mod ver info
	pkg="$(_tool_field "$name" 2)"
	mod="$(_tool_field "$name" 3)"
	ver="$(_tool_field "$name" 4)"
	[[ -x "$bin" ]] || return 1
	info="$(go version -m "$bin" 2>/dev/null)" || return 1
	# first line: "<bin>: go1.26.10". Tools are always built with the pinned
	# toolchain, even when RAMPART_GOTOOLCHAIN changes the one used to analyse.
	[[ "$(head -n1 <<<"$info" | awk '{print $2}')" == "$RAMPART_GO_TOOLCHAIN_DEFAULT" ]] || return 1
	grep -qE "^[[:space:]]+path[[:space:]]+${pkg//./\\.}\$" <<<"$info" || return 1
	grep -qE "^[[:space:]]+mod[[:space:]]+${mod//./\\.}[[:space:]]+${ver//./\\.}([[:space:]]|\$)" <<<"$info" || return 1
	return 0
}

# ensure_tool NAME: install the pinned version into $TOOLS_BIN unless it is
# already there. Prints one line either way.
ensure_tool() {
	local name="$1" pkg ver start
	pkg="$(_tool_field "$name" 2)"
	ver="$(_tool_field "$name" 4)"
	if tool_is_current "$name"; then
		log "$name $ver already installed ($TOOLS_BIN/$name, built with $RAMPART_GO_TOOLCHAIN_DEFAULT)"
		return 0
	fi
	log "installing $pkg@$ver with $RAMPART_GO_TOOLCHAIN_DEFAULT into $TOOLS_BIN"
	start=$SECONDS
	# Run outside the repo so our go.mod / GOFLAGS=-mod=... cannot interfere.
	(cd / && GOWORK=off GOFLAGS='' GOTOOLCHAIN="$RAMPART_GO_TOOLCHAIN_DEFAULT" GOBIN="$TOOLS_BIN" go install "$pkg@$ver") ||
		die "go install $pkg@$ver failed"
	tool_is_current "$name" || die "$name installed but 'go version -m' does not show $ver/$RAMPART_GO_TOOLCHAIN_DEFAULT"
	log "installed $name $ver in $((SECONDS - start))s"
}

# Optional build tags for vet/staticcheck/gosec (comma separated), e.g.
# BUILD_TAGS=integration scripts/lint.sh
BUILD_TAGS="${BUILD_TAGS:-}"
