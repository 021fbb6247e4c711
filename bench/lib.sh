# Shared set-up of the HTTPS load scripts (sourced by bench/*/run.sh): build
# or take a binary, start `rampart serve` on the embedded default in a temp
# directory, create an organization, an owner and an API token.
#
# After bench_start: $bin, $work, $data, $base, $pid, $TOKEN are set and an
# EXIT trap stops the server and removes $work.

bench_need() {
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			apt-get install -y "$tool" >/dev/null 2>&1 || { echo "bench: $tool is required (apt-get install $tool)" >&2; exit 2; }
		fi
	done
}

# bench_start TAGS BIN PERMISSIONS_JSON
bench_start() {
	local tags=$1 permissions=$3
	bin=$2
	export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.26.10}"
	# The benchmark-only build refuses to run without this acknowledgement.
	[ -n "$tags" ] && export BENCH_RAMPART_NOENCRYPT=yes-store-data-in-clear
	work=$(mktemp -d)
	if [ -z "$bin" ]; then
		bin="$work/rampart"
		go build -tags "$tags" -o "$bin" ./cmd/rampart
	fi
	data="$work/data"
	local port=$((20000 + RANDOM % 20000))
	base="https://127.0.0.1:$port"
	"$bin" serve --data-dir "$data" --listen-https "127.0.0.1:$port" --listen-http off --log-level warn >"$work/serve.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
	for _ in $(seq 100); do curl -ksf "$base/readyz" >/dev/null && break; sleep 0.1; done

	local pw
	pw="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')-Pw1"
	"$bin" admin org create --data-dir "$data" --name Bench --slug bench >/dev/null
	printf '%s' "$pw" | "$bin" admin user create --data-dir "$data" --org bench --email owner@bench.test --role owner --password-stdin >/dev/null
	local jar="$work/cookies"
	curl -ksf -c "$jar" -H 'Content-Type: application/json' \
		-d "{\"organization\":\"bench\",\"email\":\"owner@bench.test\",\"password\":\"$pw\"}" "$base/api/v1/auth/login" >/dev/null
	TOKEN=$(curl -ksf -b "$jar" -H 'Content-Type: application/json' \
		-d "{\"name\":\"bench\",\"permissions\":$permissions,\"expires_in_seconds\":86400}" "$base/api/v1/me/tokens" | jq -r .token)
	export TOKEN
}

bench_machine() {
	echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), build tags: ${1:-none}"
}
