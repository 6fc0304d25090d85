#!/usr/bin/env bash
# servebench.sh: "ipatlas serve data/GeoLite2-City.mmdb" (the built binary)
# under load from bench/loadgen, a second process on loopback; the
# figures of bench/SERVE.md.
#
#   bench/servebench.sh [RUNS] [SECONDS] [SCENARIO...]
#
# Scenarios (default: all), each run RUNS times (default 5) for SECONDS
# (default 10):
#   get16        16 clients, one GET /v1/lookup/{ip} per request
#   get16reload  the same while the served file is replaced every second
#                (alternating two copies of GeoLite2-City, renamed over it)
#   get1         1 client (latency without queueing)
#   batch100     4 clients, POST /v1/lookup with 100 addresses each
#
# One server serves all runs (as a service would), polling its file every
# 250 ms so that every replacement is picked up. Each run prints one line:
# the machine's load average before it, loadgen's figures, the server's
# CPU seconds and RSS after it; then the medians per scenario. Raw
# loadgen reports go to $OUT (default: a temporary directory).
# IPATLAS=path/to/ipatlas measures that binary instead of building the
# checkout's (an older commit side by side); SERVE_FLAGS adds flags.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-5}"
secs="${2:-10}"
shift $(( $# > 2 ? 2 : $# ))
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(get16 get16reload get1 batch100)
db="data/GeoLite2-City.mmdb"
[[ -f "$db" ]] || { echo "servebench: $db missing: run scripts/fetch-data.sh" >&2; exit 1; }

work="$(mktemp -d)"
out="${OUT:-$work}"
mkdir -p "$out"
bin="${IPATLAS:-$work/ipatlas}"
[[ -n "${IPATLAS:-}" ]] || go build -o "$bin" ./cmd/ipatlas
go build -o "$work/loadgen" ./bench/loadgen
cp "$db" "$work/a.mmdb"
cp "$db" "$work/b.mmdb"
cp "$db" "$work/served.mmdb"

# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
"$bin" serve "$work/served.mmdb" --addr 127.0.0.1:0 --poll 250ms ${SERVE_FLAGS:-} >"$work/addr" 2>"$out/serve.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
	grep -q "listening on" "$work/addr" 2>/dev/null && break
	sleep 0.1
done
url="http://$(sed -n 's/^listening on //p' "$work/addr")"
echo "servebench: $url, server pid $pid, $(nproc) CPUs, $runs runs x ${secs}s" >&2

cpu_s() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$pid/stat"; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }

printf "%-12s %3s %6s %9s %8s %8s %8s %8s %5s %6s %8s %7s %7s\n" \
	scenario run load1 req/s p50ms p90ms p99ms maxms fail swaps reloads srvCPU rssMiB
for sc in "${scenarios[@]}"; do
	case "$sc" in
	get16) args=(-c 16) ;;
	get16reload) args=(-c 16 --reload-file "$work/served.mmdb" --reload-with "$work/a.mmdb,$work/b.mmdb" --reload-every 1s) ;;
	get1) args=(-c 1) ;;
	batch100) args=(-c 4 --batch 100) ;;
	*) echo "servebench: unknown scenario $sc" >&2; exit 2 ;;
	esac
	for i in $(seq "$runs"); do
		load="$(cut -d' ' -f1 /proc/loadavg)"
		c0="$(cpu_s)"
		status=0
		"$work/loadgen" --url "$url" -d "${secs}s" --json "${args[@]}" >"$out/$sc-$i.json" || status=$?
		c1="$(cpu_s)"
		python3 - "$out/$sc-$i.json" "$sc" "$i" "$load" "$c0" "$c1" "$(rss_mib)" "$status" <<'EOF'
import json, sys
f, sc, i, load, c0, c1, rss, status = sys.argv[1:]
r = json.load(open(f))
l = r["latency_ms"]
r["scenario"], r["load1"], r["server_cpu_s"], r["server_rss_mib"], r["exit"] = sc, float(load), float(c1) - float(c0), int(rss), int(status)
json.dump(r, open(f, "w"))
print("%-12s %3s %6.2f %9.0f %8.3f %8.3f %8.3f %8.1f %5d %6d %8s %7.1f %7d" % (
    sc, i, r["load1"], r["requests_per_second"], l["p50"], l["p90"], l["p99"], l["max"],
    r["failures"], r["file_swaps"], "%g" % r["server_reloads"] if r.get("server_reloads") is not None else "-",
    r["server_cpu_s"], r["server_rss_mib"]))
EOF
	done
done

echo
echo "medians:"
python3 - "$out" "${scenarios[@]}" <<'EOF'
import glob, json, statistics, sys
out, scs = sys.argv[1], sys.argv[2:]
print("%-12s %4s %9s %9s %8s %8s %8s %8s %6s %6s %8s" % ("scenario", "runs", "req/s", "addr/s", "p50ms", "p90ms", "p99ms", "maxms", "fail", "swaps", "reloads"))
for sc in scs:
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{sc}-*.json"))]
    if not rs:
        continue
    med = lambda k: statistics.median(k(r) for r in rs)
    print("%-12s %4d %9.0f %9.0f %8.3f %8.3f %8.3f %8.1f %6d %6d %8g" % (
        sc, len(rs), med(lambda r: r["requests_per_second"]), med(lambda r: r["addresses_per_second"]),
        med(lambda r: r["latency_ms"]["p50"]), med(lambda r: r["latency_ms"]["p90"]),
        med(lambda r: r["latency_ms"]["p99"]), med(lambda r: r["latency_ms"]["max"]),
        sum(r["failures"] for r in rs), sum(r["file_swaps"] for r in rs),
        sum(r.get("server_reloads") or 0 for r in rs)))
EOF
echo "server log: $(grep -c reloaded "$out/serve.log") reloads, $(grep -c rejected "$out/serve.log" || true) rejections" >&2
