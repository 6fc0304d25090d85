#!/usr/bin/env bash
# serveslow.sh: RSS of "ipatlas serve data/GeoLite2-City.mmdb" under slow
# readers: N connections that each POST a batch of 1,000 addresses and
# never read the answer, while 4 ordinary clients run GETs (bench/loadgen
# --slow N -c 4). Prints the server's RSS before, its peak during the run
# (sampled every 100 ms), and 10 s after the run; loadgen's report (the
# ordinary clients' failures) goes to stderr.
#
#   bench/serveslow.sh [N] [SECONDS] [-- SERVE FLAGS...]
#
# IPATLAS=path/to/ipatlas runs that binary instead of building the
# checkout's (to measure an older commit side by side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-1000}"
secs="${2:-20}"
shift $(( $# > 2 ? 2 : $# ))
[[ "${1:-}" == "--" ]] && shift
db="data/GeoLite2-City.mmdb"
[[ -f "$db" ]] || { echo "serveslow: $db missing: run scripts/fetch-data.sh" >&2; exit 1; }
work="$(mktemp -d)"
bin="${IPATLAS:-$work/ipatlas}"
[[ -n "${IPATLAS:-}" ]] || go build -o "$bin" ./cmd/ipatlas
go build -o "$work/loadgen" ./bench/loadgen
cp "$db" "$work/served.mmdb"
"$bin" serve "$work/served.mmdb" --addr 127.0.0.1:0 "$@" >"$work/addr" 2>"$work/serve.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/addr" 2>/dev/null && break; sleep 0.1; done
url="http://$(sed -n 's/^listening on //p' "$work/addr")"
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
"$work/loadgen" --url "$url" -c 1 -d 2s >/dev/null # warm up: map the pages lookups touch
before="$(rss)"
load="$(cut -d' ' -f1 /proc/loadavg)"
"$work/loadgen" --url "$url" -c 4 -d "${secs}s" --slow "$n" >"$work/report" 2>&1 &
lg=$!
peak=0
while kill -0 $lg 2>/dev/null; do
	r="$(rss)"; (( r > peak )) && peak=$r
	sleep 0.1
done
status=0; wait $lg || status=$?
sleep 10
after="$(rss)"
cat "$work/report" >&2
echo "serveslow: slow=$n secs=$secs load1=$load rss_mib before=$before peak=$peak after10s=$after loadgen_exit=$status alive=$(kill -0 $pid 2>/dev/null && echo yes || echo no)"
