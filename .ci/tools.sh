#!/usr/bin/env bash
# CI tooling setup: installs the pinned staticcheck, gosec and govulncheck
# (scripts/install-tools.sh) and builds/caches the offline Go vulnerability
# DB (scripts/vulncheck.sh --prepare-db), so that the later lint/gosec/vulncheck
# steps only analyse.
#
#   bash .ci/tools.sh      # run it, or
#   . .ci/tools.sh         # source it: also exports GOTOOLCHAIN and PATH
#                          # (with $(go env GOPATH)/bin) into the caller.
# Set RAMPART_SKIP_VULNDB=1 to skip the DB step.
# It does not change the caller's shell options when sourced.

_rampart_tools() {
	local root
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
	export GOTOOLCHAIN="${RAMPART_GOTOOLCHAIN:-go1.26.10}"
	bash "$root/scripts/install-tools.sh" || {
		echo "ERROR: tool installation failed" >&2
		return 1
	}
	if [[ "${RAMPART_SKIP_VULNDB:-}" != 1 ]]; then
		bash "$root/scripts/vulncheck.sh" --prepare-db || {
			echo "ERROR: building the Go vulnerability DB failed" >&2
			return 1
		}
	fi
	local gopath
	gopath="$(go env GOPATH)" || return 1
	case ":$PATH:" in
	*":${gopath%%:*}/bin:"*) ;;
	*) export PATH="${gopath%%:*}/bin:$PATH" ;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	_rampart_tools
else
	_rampart_tools || return 1
	unset -f _rampart_tools
fi
