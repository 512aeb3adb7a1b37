#!/usr/bin/env bash
# Drives a real HTTP server on loopback with wrk: the handler bare, then
# wrapped in bulwarkhttp.Middleware with a breaker and a rate limiter that
# admit everything (cmd/httpload). Each mode runs DURATION seconds in all,
# in ROUNDS alternating slices (bare, wrapped, bare, wrapped ...), so that
# a neighbour that loads the machine for a while slows both alike. It
# prints both throughputs and the median of the rounds' ratios, and fails
# if that median is below MIN_RATIO.
#   bash load.sh
#   DURATION=30 ROUNDS=30 CONNS=128 bash load.sh
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-10}   # seconds per mode, in all
ROUNDS=${ROUNDS:-10}       # slices per mode
THREADS=${THREADS:-1}
CONNS=${CONNS:-64}
MIN_RATIO=${MIN_RATIO:-0.95}

if ! command -v wrk >/dev/null 2>&1; then
	if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		echo "load.sh: installing wrk" >&2
		apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
	fi
fi
if ! command -v wrk >/dev/null 2>&1; then
	echo "load.sh: wrk is not installed (Debian: apt-get install wrk)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/httpload" ./cmd/httpload

slice=$(( DURATION / ROUNDS ))
[ "$slice" -ge 1 ] || slice=1

# serve MODE: starts the server on a fifo-held stdin, sets url and pid.
serve() {
	mkfifo "$tmp/stop-$1"
	"$tmp/httpload" -mode "$1" <"$tmp/stop-$1" >"$tmp/url-$1" &
	pid=$!
	exec 9>"$tmp/stop-$1" # closing it stops the server
	for _ in $(seq 100); do
		[ -s "$tmp/url-$1" ] && break
		sleep 0.05
	done
	url=$(head -n1 "$tmp/url-$1")
}

# drive MODE: one slice of wrk against a fresh server; prints requests/sec.
drive() {
	rm -f "$tmp/stop-$1" "$tmp/url-$1"
	serve "$1"
	wrk -t "$THREADS" -c "$CONNS" -d "${slice}s" "$url" >"$tmp/wrk-$1" 2>&1 || { cat "$tmp/wrk-$1" >&2; exit 1; }
	exec 9>&-
	wait "$pid"
	if grep -q "Non-2xx" "$tmp/wrk-$1"; then
		echo "load.sh: $1 answered with errors:" >&2
		cat "$tmp/wrk-$1" >&2
		exit 1
	fi
	awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk-$1"
}

: >"$tmp/rounds"
for _ in $(seq "$ROUNDS"); do
	b=$(drive bare)
	w=$(drive wrapped)
	echo "$b $w" >>"$tmp/rounds"
done
sort -k3 -g <(awk '{print $1, $2, $2 / $1}' "$tmp/rounds") | awk -v min="$MIN_RATIO" -v d="$DURATION" -v c="$CONNS" '
	{ b += $1; w += $2; r[NR] = $3 }
	END {
		med = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
		printf "bare:    %.0f requests/s\n", b / NR
		printf "wrapped: %.0f requests/s (bulwarkhttp.Middleware, breaker + rate limiter)\n", w / NR
		printf "wrapped/bare: %.3f, median of %d rounds (%.3f to %.3f); %ds per mode, %d connections; minimum %.2f\n", med, NR, r[1], r[NR], d, c, min
		exit (med < min) ? 1 : 0
	}'
