#!/usr/bin/env bash
# The yardstick: stock PocketBase v0.40.4 (its defaults: plain HTTP, no
# encryption, SQLite without an fsync per commit) under the same wrk
# scripts as bench/records/run.sh, on the same machine. Run both back to
# back; docs/benchmarks.md records the pair.
#
#   bench/pocketbase/run.sh [-d 20s] [-c 64] [-t 2] [--seed 50000]
#
# PocketBase v0.40.4 needs Go 1.27: this separate module builds with
# GOTOOLCHAIN=go1.27.3 (fetched by the go command); Rampart itself stays on
# Go 1.26.
set -euo pipefail
cd "$(dirname "$0")"
duration=20s conns=64 threads=2 seed=50000
while [ $# -gt 0 ]; do
	case "$1" in
	-d) duration=$2; shift 2 ;;
	-c) conns=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
# shellcheck source=bench/lib.sh
source ../lib.sh
bench_need wrk curl jq sqlite3

work=$(mktemp -d)
GOTOOLCHAIN=go1.27.3 go build -o "$work/pb" .
pw="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')-Pw1"
"$work/pb" superuser upsert admin@bench.test "$pw" --dir "$work/d" >/dev/null
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
"$work/pb" serve --http "127.0.0.1:$port" --dir "$work/d" >"$work/pb.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/api/health" >/dev/null && break; sleep 0.1; done

json() { curl -sf -H 'Content-Type: application/json' "$@"; }
admin=$(json -d "{\"identity\":\"admin@bench.test\",\"password\":\"$pw\"}" "$base/api/collections/_superusers/auth-with-password" | jq -r .token)
rule='@request.auth.id != \"\"'
for c in docs big writes; do
	json -H "Authorization: $admin" -d "{\"name\":\"$c\",\"type\":\"base\",\"fields\":[{\"name\":\"ref\",\"type\":\"text\"},{\"name\":\"title\",\"type\":\"text\"}],\"listRule\":\"$rule\",\"viewRule\":\"$rule\",\"createRule\":\"$rule\"}" "$base/api/collections" >/dev/null
done
json -H "Authorization: $admin" -d "{\"email\":\"u@bench.test\",\"password\":\"$pw\",\"passwordConfirm\":\"$pw\"}" "$base/api/collections/users/records" >/dev/null
TOKEN=$(json -d "{\"identity\":\"u@bench.test\",\"password\":\"$pw\"}" "$base/api/collections/users/auth-with-password" | jq -r .token)
export TOKEN
doc="{\"ref\":\"doc-1\",\"title\":\"$(head -c 2000 /dev/zero | tr '\0' 'x' | head -c 980)\"}"
RECORD_ID=$(json -H "Authorization: Bearer $TOKEN" -d "$doc" "$base/api/collections/docs/records" | jq -r .id)
export RECORD_ID CREATED=200

scripts=../records
echo "== seeding $seed records into 'big'"
RECORDS_PATH=/api/collections/big/records wrk -t"$threads" -c"$conns" -d600s -s $scripts/create.lua "$base" >"$work/seed.txt" 2>&1 &
wpid=$!
while :; do
	n=$(sqlite3 "$work/d/data.db" "SELECT COUNT(*) FROM big" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge "$seed" ] && break
	sleep 1
done
kill $wpid 2>/dev/null || true
wait $wpid 2>/dev/null || true

bench_machine "pocketbase v0.40.4, plain HTTP"
echo "== record GET (1 KiB document), $conns connections, $duration"
RECORDS_PATH=/api/collections/docs/records wrk -t"$threads" -c"$conns" -d"$duration" --latency -s $scripts/get.lua "$base"
echo "== record create (1 KiB), $conns connections, $duration"
RECORDS_PATH=/api/collections/writes/records wrk -t"$threads" -c"$conns" -d"$duration" --latency -s $scripts/create.lua "$base"
echo "== list 20 (no total count) of $(sqlite3 "$work/d/data.db" "SELECT COUNT(*) FROM big") records, $conns connections, $duration"
RECORDS_PATH=/api/collections/big/records LIST_QUERY='?perPage=20&skipTotal=1' wrk -t"$threads" -c"$conns" -d"$duration" --latency -s $scripts/list.lua "$base"
echo "== server RSS: $(grep VmHWM /proc/$pid/status)"
