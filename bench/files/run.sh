#!/usr/bin/env bash
# Throughput of encrypted file upload and download over HTTPS against a real
# `rampart serve` on the embedded default (SQLite, synchronous=FULL, files
# stored as encrypted 1 MiB parts in the database). curl on the same
# machine moves the bytes; docs/benchmarks.md records the figures with this
# command.
#
#   bench/files/run.sh [--size-mib 512] [--parallel 1] [--rounds 3] [--tags rampart_noencrypt] [--bin PATH]
#
# Upload: `curl -T` (raw body, chunked) of a random file; download: `curl
# -o /dev/null` of the same file. MB/s are curl's own averages
# (speed_upload / speed_download) in 10^6 bytes per second; with
# --parallel N, N transfers run at once and the sum is reported.
set -euo pipefail
cd "$(dirname "$0")/../.."

size=512 parallel=1 rounds=3 tags="" bin=""
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) size=$2; shift 2 ;;
	--parallel) parallel=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--tags) tags=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_need curl jq
bench_start "$tags" "$bin" '["files.read","files.write"]'

src="$work/src.bin"
head -c "$((size << 20))" /dev/urandom >"$src"
want=$(sha256sum "$src" | cut -d' ' -f1)
bench_machine "$tags"
echo "== ${size} MiB file, $parallel transfer(s) at a time, $rounds rounds"

sum_speeds() { awk '{s += $1} END {printf "%.1f", s / 1e6}'; }
for r in $(seq "$rounds"); do
	: >"$work/up" && : >"$work/ids"
	jobs=() # not a bare `wait`: the server is a background job too
	for i in $(seq "$parallel"); do
		curl -ksSf -o "$work/resp.$i" -w '%{speed_upload}\n' -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/octet-stream' -H 'X-Filename: bench.bin' \
			-T "$src" -X POST "$base/api/v1/files" >>"$work/up" &
		jobs+=($!)
	done
	wait "${jobs[@]}"
	for f in "$work"/resp.*; do jq -r .id "$f" >>"$work/ids"; rm -f "$f"; done
	: >"$work/down"
	jobs=()
	while read -r id; do
		curl -ksSf -o /dev/null -w '%{speed_download}\n' -H "Authorization: Bearer $TOKEN" "$base/api/v1/files/$id" >>"$work/down" &
		jobs+=($!)
	done <"$work/ids"
	wait "${jobs[@]}"
	# One SHA-256 check per round: the bytes that came back are the bytes sent.
	got=$(curl -ksS -H "Authorization: Bearer $TOKEN" "$base/api/v1/files/$(head -1 "$work/ids")" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "round $r: SHA-256 mismatch" >&2; exit 1; }
	echo "round $r: upload $(sum_speeds <"$work/up") MB/s, download $(sum_speeds <"$work/down") MB/s (SHA-256 ok)"
	while read -r id; do curl -ksS -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "$base/api/v1/files/$id"; done <"$work/ids"
done
echo "== server RSS: $(grep VmHWM /proc/$pid/status)"
