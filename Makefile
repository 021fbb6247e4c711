# Rampart's two everyday commands are `make run` (or `go run ./cmd/rampart serve`)
# and `make test`. Go 1.26.8 has reachable standard-library vulnerabilities that
# 1.26.10 fixes, so every target builds with 1.26.10 (fetched by the go command).
export GOTOOLCHAIN := go1.26.10

.PHONY: run build test faceservice bench lint gosec vulncheck tools check

run:
	go run ./cmd/rampart serve

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/rampart-platform/rampart/internal/app.Version=$(VERSION)" -o bin/rampart ./cmd/rampart

# The whole test suite: unit and integration tests on real SQLite and the
# PostgreSQL test database (RAMPART_TEST_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/test), with the race detector.
# The embedded face matcher's tests need its Node packages (pinned in
# internal/kyc/faceservice/package-lock.json): installed first when Node.js
# is there; without Node.js those tests skip.
# Then, without the race detector (whose shadow memory makes memory
# bounds meaningless), the 2 GiB file transfer that must stay under
# 200 MiB of resident memory (issue 5).
LARGE_FILE ?= 2147483648
test: faceservice
	go test -race -count=1 -timeout 20m ./...
	RAMPART_TEST_LARGE_FILE=$(LARGE_FILE) go test -count=1 -timeout 10m -run '^TestFilesLargeTransferMemory$$' ./internal/apitest

faceservice:
	@if command -v node >/dev/null && [ ! -f internal/kyc/faceservice/node_modules/@vladmandic/face-api/package.json ]; then \
		command -v npm >/dev/null || { echo "make: Node.js is installed but npm is not: apt-get install npm"; exit 1; }; \
		cd internal/kyc/faceservice && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# Micro-benchmarks; results and commands are recorded in docs/benchmarks.md.
bench:
	go test -run '^$$' -bench . -benchtime 3s ./internal/keys/ ./internal/audit/

tools:
	bash scripts/install-tools.sh

lint:
	bash scripts/lint.sh

gosec:
	bash scripts/gosec.sh

vulncheck:
	bash scripts/vulncheck.sh

# Everything CI checks besides the tests.
check: lint gosec vulncheck
