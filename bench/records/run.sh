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
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_need wrk curl jq sqlite3
bench_start "$tags" "$bin" '["records.read","records.write","collections.manage"]'
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

bench_machine "$tags"
want get && echo "== record GET (1 KiB document), $conns connections, $duration" &&
	wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/get.lua "$base"
want create && echo "== record create (1 KiB, durable, audited), $conns connections, $duration" &&
	COLLECTION=writes wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/create.lua "$base"
want list && echo "== list 20 of $(sqlite3 "$data/rampart.db" "SELECT COUNT(*) FROM records WHERE collection='big'" 2>/dev/null || echo "$seed+") records, $conns connections, $duration" &&
	COLLECTION=big wrk -t"$threads" -c"$conns" -d"$duration" --latency -s bench/records/list.lua "$base"
echo "== server RSS: $(grep VmHWM /proc/$pid/status)"
