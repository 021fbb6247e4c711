#!/usr/bin/env bash
# End-to-end browser test of the web console (e2e/console.test.mjs):
# playwright-core drives Debian's chromium, headless, against a real
# `rampart serve` on a random port with a fresh data directory.
# Installs chromium (apt-get) and the npm packages (npm ci) when missing,
# builds the binary, runs the test. Screenshots go to test-artifacts/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.26.10}"

if ! [ -x /usr/bin/chromium ]; then
	echo "e2e: installing chromium (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "e2e: installing nodejs and npm (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq nodejs npm >/dev/null
fi

(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

mkdir -p bin test-artifacts/e2e
go build -o bin/rampart ./cmd/rampart

export E2E_RAMPART="$PWD/bin/rampart" E2E_CHROMIUM=/usr/bin/chromium E2E_ARTIFACTS="$PWD/test-artifacts/e2e"
cd e2e
node --test --test-concurrency=1 --test-reporter=spec console.test.mjs
