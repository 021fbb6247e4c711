#!/usr/bin/env bash
# Build time and binary size of the two probes in sizeprobe/:
# modernc.org/sqlite with CGO_ENABLED=0 (static) vs github.com/mattn/go-sqlite3
# with CGO_ENABLED=1. Run from this directory. Writes binaries to $OUT.
set -euo pipefail
OUT=${OUT:-$(mktemp -d)}
T='%e s wall, %U s user, %S s sys'
hello=$(mktemp -d)
cat > "$hello/main.go" <<'GO'
package main

import (
	"database/sql"
	"fmt"
)

func main() { fmt.Println(sql.Drivers()) }
GO

build() { # name cgo pkg
	local name=$1 cgo=$2 pkg=$3 cache
	cache=$(mktemp -d)
	echo "== $name (CGO_ENABLED=$cgo)"
	# 1. everything cold: empty build cache (stdlib, runtime/cgo, driver, link)
	/usr/bin/time -f "cold, empty cache:        $T" env GOCACHE="$cache" CGO_ENABLED=$cgo go build -o "$OUT/$name" "$pkg"
	# 2. driver cold: cache already holds the stdlib (a database/sql hello world built first)
	rm -rf "$cache"; cache=$(mktemp -d)
	(cd "$hello" && GOCACHE="$cache" CGO_ENABLED=$cgo GO111MODULE=off go build -o /dev/null main.go)
	/usr/bin/time -f "driver cold, stdlib warm: $T" env GOCACHE="$cache" CGO_ENABLED=$cgo go build -o "$OUT/$name" "$pkg"
	# 3. warm: main recompiled (other gcflags) + link; then nothing changed
	/usr/bin/time -f "warm, main recompiled:    $T" env GOCACHE="$cache" CGO_ENABLED=$cgo go build -gcflags=main=-N -o "$OUT/$name" "$pkg"
	/usr/bin/time -f "warm, nothing changed:    $T" env GOCACHE="$cache" CGO_ENABLED=$cgo go build -o "$OUT/$name" "$pkg"
	CGO_ENABLED=$cgo GOCACHE="$cache" go build -ldflags='-s -w' -o "$OUT/$name-stripped" "$pkg"
	rm -rf "$cache"
	ls -l "$OUT/$name" "$OUT/$name-stripped" | awk '{print "size:", $5, $NF}'
	file -b "$OUT/$name" | cut -d, -f1-2,5
	(cd "$OUT" && "./$name" "$OUT/$name.db") || true
}

build modernc 0 ./sizeprobe/modernc
build mattn 1 ./sizeprobe/mattn

echo "== mattn, fully static (CGO_ENABLED=1, -extldflags -static)"
CGO_ENABLED=1 go build -tags 'osusergo netgo sqlite_omit_load_extension' \
	-ldflags='-s -w -linkmode external -extldflags "-static"' -o "$OUT/mattn-static" ./sizeprobe/mattn 2>&1 | tail -3 || true
ls -l "$OUT/mattn-static" | awk '{print "size:", $5, $NF}'; file -b "$OUT/mattn-static" | cut -d, -f1-2,5
"$OUT/mattn-static" "$OUT/mattn-static.db" || true

echo "== cross-compilation"
for t in linux/arm64 darwin/arm64 windows/amd64; do
	GOOS=${t%/*} GOARCH=${t#*/} CGO_ENABLED=0 go build -o /dev/null ./sizeprobe/modernc && echo "modernc CGO_ENABLED=0 $t: ok" || echo "modernc CGO_ENABLED=0 $t: FAILED"
	GOOS=${t%/*} GOARCH=${t#*/} CGO_ENABLED=1 go build -o /dev/null ./sizeprobe/mattn >/dev/null 2>&1 && echo "mattn CGO_ENABLED=1 $t: ok" || echo "mattn CGO_ENABLED=1 $t: FAILED (no C cross toolchain)"
done
echo "== mattn built with CGO_ENABLED=0 (what a plain cross build gives)"
CGO_ENABLED=0 go build -o "$OUT/mattn-nocgo" ./sizeprobe/mattn && "$OUT/mattn-nocgo" "$OUT/nocgo.db" 2>&1 || true
rm -rf "$hello"
