#!/usr/bin/env bash
# serveinplace.sh: "ipatlas serve" of a copy of GeoLite2-City while
# bench/loadgen (4 clients, 10 s) rewrites the served file in place every
# second, as cp does (truncate, then 1 MiB writes), alternating
# GeoLite2-Country and GeoLite2-City: what a deploy script that breaks the
# rename rule does. Prints loadgen's summary and whether the server
# survived (its RSS, /readyz and exit status on SIGTERM).
#
#   bench/serveinplace.sh [SERVE FLAGS...]      e.g. --mmap=false
#
# IPATLAS=path/to/ipatlas runs that binary instead of building the checkout's.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
for f in data/GeoLite2-City.mmdb data/GeoLite2-Country.mmdb; do
	[[ -f "$f" ]] || { echo "serveinplace: $f missing: run scripts/fetch-data.sh" >&2; exit 1; }
done
w="$(mktemp -d)"
trap 'rm -rf "$w"' EXIT
bin="${IPATLAS:-$w/ipatlas}"
[[ -n "${IPATLAS:-}" ]] || go build -o "$bin" ./cmd/ipatlas || exit 1
go build -o "$w/loadgen" ./bench/loadgen || exit 1
cp data/GeoLite2-City.mmdb "$w/served.mmdb"
"$bin" serve "$w/served.mmdb" --addr 127.0.0.1:0 --poll 250ms "$@" >"$w/addr" 2>"$w/log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$w/addr" 2>/dev/null && break; sleep 0.1; done
url="http://$(sed -n 's/^listening on //p' "$w/addr")"
echo "serveinplace: load1 $(cut -d' ' -f1 /proc/loadavg)"
"$w/loadgen" --url "$url" -c 4 -d 10s --reload-file "$w/served.mmdb" \
	--reload-with data/GeoLite2-Country.mmdb,data/GeoLite2-City.mmdb --reload-every 1s \
	--swap-mode copy --copy-chunk 1048576
echo "loadgen exit $?"
if kill -0 $pid 2>/dev/null; then
	echo "server alive, RSS $(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status") MiB, /readyz $(curl -s "$url/readyz")"
	kill -TERM $pid
	wait $pid
	echo "server exit $? after SIGTERM"
else
	wait $pid
	echo "server DIED: exit $?: $(grep -m1 -i 'fatal\|signal' "$w/log")"
fi
