#!/usr/bin/env bash
# Load test of the records API over HTTPS with wrk (keep-alive), against a
# real `rampart serve` on the embedded default (SQLite, synchronous=FULL,
# audit on, records encrypted). Prints wrk's reports; docs/benchmarks.md
# records the figures with this command.
#
#   bench/records/run.sh [-d 20s] [-c 64] [-t 2] [--seed 50000] [--tags rampart_noencrypt] [--only get|create|list] [--bin PATH]
#
# --tags builds the benchmark-only variant (rampart_noencrypt: record bodies
# stored in clear) to show what encryption costs. Needs wrk, curl, jq and sqlite3
# (Debian packages; installed if missing and apt-get is available).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.26.10}"

only="" duration=20s conns=64 threads=2 seed=50000 tags="" bin=""
while [ $# -gt 0 ]; do
	case "$1" in
	-d) duration=$2; shift 2 ;;
	-c) conns=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--tags) tags=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;; # use this binary instead of building one
	--only) only=$2; shift 2 ;; # get, create or list
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for tool in wrk curl jq sqlite3; do
	if ! command -v "$tool" >/dev/null; then
		apt-get install -y "$tool" >/dev/null 2>&1 || { echo "bench: $tool is required (apt-get install $tool)" >&2; exit 2; }
	fi
done

# The benchmark-only build refuses to run without this acknowledgement.
[ -n "$tags" ] && export BENCH_RAMPART_NOENCRYPT=yes-store-data-in-clear
work=$(mktemp -d)
if [ -z "$bin" ]; then
	bin="$work/rampart"
	go build -tags "$tags" -o "$bin" ./cmd/rampart
fi
data="$work/data"
port=$((20000 + RANDOM % 20000))
base="https://127.0.0.1:$port"
"$bin" serve --data-dir "$data" --listen-https "127.0.0.1:$port" --listen-http off --log-level warn >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -ksf "$base/readyz" >/dev/null && break; sleep 0.1; done

pw="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')-Pw1"
"$bin" admin org create --data-dir "$data" --name Bench --slug bench >/dev/null
printf '%s' "$pw" | "$bin" admin user create --data-dir "$data" --org bench --email owner@bench.test --role owner --password-stdin >/dev/null
jar="$work/cookies"
curl -ksf -c "$jar" -H 'Content-Type: application/json' \
	-d "{\"organization\":\"bench\",\"email\":\"owner@bench.test\",\"password\":\"$pw\"}" "$base/api/v1/auth/login" >/dev/null
TOKEN=$(curl -ksf -b "$jar" -H 'Content-Type: application/json' \
	-d '{"name":"bench","permissions":["records.read","records.write","collections.manage"],"expires_in_seconds":86400}' "$base/api/v1/me/tokens" | jq -r .token)
export TOKEN
api() { curl -ksf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
api -d '{"name":"docs","indexed_fields":["ref"]}' "$base/api/v1/collections" >/dev/null
api -d '{"name":"big","indexed_fields":["ref"]}' "$base/api/v1/collections" >/dev/null
api -d '{"name":"writes","indexed_fields":["ref"]}' "$base/api/v1/collections" >/dev/null
doc="{\"ref\":\"doc-1\",\"title\":\"$(head -c 2000 /dev/zero | tr '\0' 'x' | head -c 980)\"}"
RECORD_ID=$(api -d "$doc" "$base/api/v1/collections/docs/records" | jq -r .id)
export RECORD_ID

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
if want list; then
	echo "== seeding $seed records into 'big' (wrk POST until the count is reached)"
	COLLECTION=big wrk -t"$threads" -c"$conns" -d600s -s bench/records/create.lua "$base" >"$work/seed.txt" 2>&1 &
	wpid=$!
	while :; do
		n=$(sqlite3 "$data/rampart.db" "SELECT COUNT(*) FROM records WHERE collection='big'" 2>/dev/null || echo 0)
		[ "${n:-0}" -ge "$seed" ] && break
		sleep 1
	done
	kill $wpid 2>/dev/null || true
	wait $wpid 2>/dev/null || true
fi

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), build tags: ${tags:-none}"
want get && echo "== record GET (1 KiB document), $conns connections, $duration" &&
	wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/get.lua "$base"
want create && echo "== record create (1 KiB, durable, audited), $conns connections, $duration" &&
	COLLECTION=writes wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/create.lua "$base"
want list && echo "== list 20 of $(sqlite3 "$data/rampart.db" "SELECT COUNT(*) FROM records WHERE collection='big'" 2>/dev/null || echo "$seed+") records, $conns connections, $duration" &&
	COLLECTION=big wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/list.lua "$base"
echo "== server RSS: $(grep VmHWM /proc/$pid/status)"
