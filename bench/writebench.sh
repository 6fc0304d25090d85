#!/usr/bin/env bash
# bench/writebench.sh: the write benchmark of ipatlas's streaming writer
# (format.Writer) against github.com/maxmind/mmdbwriter, side by side.
#
# Builds bench/writebench once, runs every writer on every variant RUNS
# times under /usr/bin/time -v (ipatlas first), checks that the two
# outputs of each variant answer identically (writebench -check: Verify on
# both, then lookups and decoded records compared for the first address of
# every network and 100,000 seeded random addresses), and prints a
# Markdown table of wall time, peak RSS and output size with the ratios.
#
# Variants:
#   ipv4       every IPv4 /24 (16,777,216 networks)
#   ipv4+ipv6  the same plus IPV6 /48s spread over 2000::/3
#
# Environment:
#   RUNS=3                 runs per writer and variant
#   MMDBWRITER_RUNS=$RUNS  runs of mmdbwriter (slow: minutes at full scale)
#   RECORDS=200000         distinct records
#   IPV6=4000000           /48s in the ipv4+ipv6 variant
#   SEED=1                 generator seed
#   IPV4_COUNT=16777216    first N /24s only (for quick runs)
#   VARIANTS="ipv4 ipv4+ipv6"
#   WRITERS="ipatlas mmdbwriter"
#   WORKDIR=$(mktemp -d)   where binaries, outputs and raw timings go
#   CHECK=1                0 skips the comparison of the outputs
#
# Example (quick): RUNS=1 IPV4_COUNT=65536 IPV6=10000 bench/writebench.sh
# Tables again from the raw timings: bench/writebench.sh table WORKDIR/runs.tsv
set -euo pipefail

cd "$(dirname "$0")/.."

# table prints the Markdown tables of a runs.tsv.
table() {
	python3 - "$1" <<'EOF'
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault((r["variant"], r["writer"]), []).append(r)
variants = list(dict.fromkeys(r["variant"] for r in rows))
writers = list(dict.fromkeys(r["writer"] for r in rows))

def stats(rs, key, scale=1.0):
    xs = [float(r[key]) / scale for r in rs]
    return statistics.median(xs), min(xs), max(xs)

print("| variant | writer | runs | wall s (median, min–max) | CPU s user+sys (median, min–max) | peak RSS MiB (median, min–max) | output MiB | load1 at start |")
print("|---|---|---|---|---|---|---|---|")
med = {}
for v in variants:
    for w in writers:
        rs = by.get((v, w))
        if not rs:
            continue
        wall, cpu = stats(rs, "wall_s"), stats(rs, "cpu_s")
        rss, size = stats(rs, "rss_kib", 1024), stats(rs, "bytes", 1 << 20)
        med[v, w] = (wall[0], rss[0], size[0], cpu[0])
        loads = ", ".join(r["load1"] for r in rs)
        print(f"| {v} | {w} | {len(rs)} | {wall[0]:.1f} ({wall[1]:.1f}–{wall[2]:.1f}) | {cpu[0]:.1f} ({cpu[1]:.1f}–{cpu[2]:.1f}) "
              f"| {rss[0]:.0f} ({rss[1]:.0f}–{rss[2]:.0f}) | {size[0]:.1f} | {loads} |")
both = [v for v in variants if (v, "ipatlas") in med and (v, "mmdbwriter") in med]
if both:
    print()
    print("| variant | speedup, wall (mmdbwriter / ipatlas) | speedup, CPU | RSS fraction (ipatlas / mmdbwriter) | size ratio (ipatlas / mmdbwriter) | targets: wall >= 10x, RSS <= 0.25, size <= 1 |")
    print("|---|---|---|---|---|---|")
    for v in both:
        a, m = med[v, "ipatlas"], med[v, "mmdbwriter"]
        sp, sc, rf, sr = m[0] / a[0], m[3] / a[3], a[1] / m[1], a[2] / m[2]
        ok = ["met" if c else "MISSED" for c in (sp >= 10, rf <= 0.25, sr <= 1)]
        print(f"| {v} | {sp:.1f}x | {sc:.1f}x | {rf:.3f} | {sr:.3f} | {' / '.join(ok)} |")
EOF
}

if [[ ${1:-} == table ]]; then
	table "${2:?usage: writebench.sh table RUNS.TSV}"
	exit 0
fi

RUNS=${RUNS:-3}
RECORDS=${RECORDS:-200000}
IPV6=${IPV6:-4000000}
SEED=${SEED:-1}
IPV4_COUNT=${IPV4_COUNT:-16777216}
VARIANTS=${VARIANTS:-"ipv4 ipv4+ipv6"}
WRITERS=${WRITERS:-"ipatlas mmdbwriter"}
WORKDIR=${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/writebench.XXXXXX")}
CHECK=${CHECK:-1}
MMDBWRITER_RUNS=${MMDBWRITER_RUNS:-$RUNS}

if [[ ! -x /usr/bin/time ]]; then
	echo "writebench.sh: installing GNU time (Debian package time)" >&2
	if [[ $(id -u) -eq 0 ]]; then
		apt-get install -y -qq time >/dev/null
	else
		sudo apt-get install -y -qq time >/dev/null
	fi
fi

mkdir -p "$WORKDIR"
BIN=$WORKDIR/writebench
go build -o "$BIN" ./bench/writebench
RAW=$WORKDIR/runs.tsv
printf 'variant\twriter\trun\twall_s\tcpu_s\trss_kib\tbytes\tload1\tline\n' >"$RAW"

# variant_args prints the writebench flags of a variant.
variant_args() {
	case $1 in
	ipv4) echo "-records $RECORDS -seed $SEED -ipv4-count $IPV4_COUNT -ipv6 0" ;;
	ipv4+ipv6) echo "-records $RECORDS -seed $SEED -ipv4-count $IPV4_COUNT -ipv6 $IPV6" ;;
	*)
		echo "writebench.sh: unknown variant $1" >&2
		exit 2
		;;
	esac
}

# to_seconds turns GNU time's "h:mm:ss" or "m:ss.ss" into seconds.
to_seconds() {
	awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}

echo "writebench.sh: workdir $WORKDIR, $RUNS runs, $(nproc) CPUs" >&2
for writer in $WRITERS; do
	for variant in $VARIANTS; do
		out=$WORKDIR/$writer.$variant.mmdb
		runs=$RUNS
		[[ $writer == mmdbwriter ]] && runs=$MMDBWRITER_RUNS
		for run in $(seq 1 "$runs"); do
			load=$(cut -d' ' -f1 /proc/loadavg)
			# shellcheck disable=SC2046 # the flags are meant to split
			line=$(/usr/bin/time -v -o "$WORKDIR/time.txt" "$BIN" -writer "$writer" -out "$out" $(variant_args "$variant"))
			wall=$(to_seconds "$(awk '/Elapsed \(wall clock\) time/ { print $NF }' "$WORKDIR/time.txt")")
			rss=$(awk '/Maximum resident set size/ { print $NF }' "$WORKDIR/time.txt")
			cpu=$(awk '/(User|System) time \(seconds\)/ { s += $NF } END { printf "%.2f", s }' "$WORKDIR/time.txt")
			bytes=$(stat -c %s "$out")
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$writer" "$run" "$wall" "$cpu" "$rss" "$bytes" "$load" "$line" >>"$RAW"
			echo "  $variant $writer run $run: ${wall}s wall, ${cpu}s CPU, $((rss / 1024)) MiB, $bytes bytes, load $load | $line" >&2
		done
	done
done

if [[ $CHECK == 1 && $WRITERS == *ipatlas* && $WRITERS == *mmdbwriter* ]]; then
	for variant in $VARIANTS; do
		echo "writebench.sh: checking $variant" >&2
		# shellcheck disable=SC2046
		"$BIN" -check $(variant_args "$variant") \
			"$WORKDIR/ipatlas.$variant.mmdb" "$WORKDIR/mmdbwriter.$variant.mmdb" | sed "s/^/  $variant: /" >&2
	done
fi

table "$RAW"
echo "writebench.sh: raw timings in $RAW" >&2
