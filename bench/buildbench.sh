#!/usr/bin/env bash
# bench/buildbench.sh: the scale benchmark of ipatlas's build path (the
# builder issue's acceptance): a generated inference file with a row for
# every IPv4 /24 plus IPV6 IPv6 /48 rows, as gzip CSV and as gzip JSONL,
# each ingested into a fresh store with `ipatlas ingest` and compiled with
# `ipatlas compile`, each step alone under /usr/bin/time -v.
#
# It generates the inputs once (bench/buildbench gen; skipped when the
# files exist), then for every input and run: ingest (wall, peak RSS,
# rows/s), the store's size on disk (du -sb), compile (wall, peak RSS,
# stored networks read per second, networks handed to the writer), the
# .mmdb's size; the first run of each input is checked (buildbench check:
# Verify, then SAMPLES seeded addresses must answer their generated rows;
# it also counts the networks in the file). It prints a Markdown table with
# the targets and PASS/MISS.
#
# Targets (2-core machine): ingest >= 500,000 rows/s, compile >=
# 1,000,000 networks/s, peak RSS < 2 GiB for either step.
#
# Environment:
#   RUNS=2                 runs per input
#   INPUTS="csv jsonl"     which inputs
#   SEED=1 IPV4_COUNT=16777216 IPV6=4000000 COMBOS=200000   generator flags
#   SAMPLES=100000         addresses checked
#   DATADIR=data/bench/buildbench   generated inputs (kept; git-ignored)
#   WORKDIR=$DATADIR/run   binaries, stores, .mmdb files, raw timings
#   REV=HEAD               build ipatlas and buildbench from this commit
#                          (git archive); REV=worktree builds the checkout
#   KEEP=0                 1 keeps the last store and .mmdb of each input
#   REPORT="a.tsv b.tsv"   only print the table of earlier runs' raw figures
#
# The machine is shared: the table gives wall-clock rates and, as a
# figure load does not inflate, rates per CPU second (user+sys; ingest
# and compile are mostly one goroutine, so on an idle machine the wall
# rate is about the CPU rate or better).
#
# Example (quick): RUNS=1 IPV4_COUNT=65536 IPV6=10000 bench/buildbench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${RUNS:-2}
INPUTS=${INPUTS:-"csv jsonl"}
SEED=${SEED:-1}
IPV4_COUNT=${IPV4_COUNT:-16777216}
IPV6=${IPV6:-4000000}
COMBOS=${COMBOS:-200000}
SAMPLES=${SAMPLES:-100000}
DATADIR=${DATADIR:-data/bench/buildbench}
WORKDIR=${WORKDIR:-$DATADIR/run}
REV=${REV:-HEAD}
KEEP=${KEEP:-0}

# print_table prints the Markdown table of the raw figure files given.
print_table() {
python3 - "$@" <<'EOF'
import csv, sys

rows = [r for path in sys.argv[1:] for r in csv.DictReader(open(path), delimiter="\t")]
GiB, MiB = 1 << 30, 1 << 20

def ok(c):
    return "PASS" if c else "MISS"

print("| input | run | rows | ingest s (CPU s) | rows/s, wall / per CPU s (>= 500,000) | ingest peak RSS MiB (< 2048) | store on disk MiB "
      "| stored read | networks to writer | networks in file | compile s (CPU s) | networks/s, wall / per CPU s (>= 1,000,000) | compile peak RSS MiB (< 2048) | .mmdb MiB | load1 ingest / compile |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    ing, comp = float(r["ingest_s"]), float(r["compile_s"])
    rps, rpc = int(r["rows"]) / ing, int(r["rows"]) / float(r["ingest_cpu_s"])
    nps, npc = int(r["entries"]) / comp, int(r["entries"]) / float(r["compile_cpu_s"])
    irss, crss = int(r["ingest_rss_kib"]) * 1024, int(r["compile_rss_kib"]) * 1024
    print(f"| {r['input']}.gz ({int(r['input_bytes']) / MiB:.0f} MiB) | {r['run']} | {int(r['rows']):,} | {ing:.1f} ({float(r['ingest_cpu_s']):.1f}) "
          f"| {rps:,.0f} / {rpc:,.0f} {ok(rps >= 500_000)} | {irss / MiB:,.0f} {ok(irss < 2 * GiB)} | {int(r['store_bytes']) / MiB:,.0f} "
          f"| {int(r['entries']):,} | {int(r['networks']):,} | {r['file_networks'] if r['file_networks'] == '-' else format(int(r['file_networks']), ',')} "
          f"| {comp:.1f} ({float(r['compile_cpu_s']):.1f}) | {nps:,.0f} / {npc:,.0f} {ok(nps >= 1_000_000)} | {crss / MiB:,.0f} {ok(crss < 2 * GiB)} "
          f"| {int(r['mmdb_bytes']) / MiB:,.1f} | {r['load_ingest']} / {r['load_compile']} |")
EOF
}

if [[ -n ${REPORT:-} ]]; then
	# shellcheck disable=SC2086 # a list of files
	print_table $REPORT
	exit 0
fi

if [[ ! -x /usr/bin/time ]]; then
	echo "buildbench.sh: installing GNU time (Debian package time)" >&2
	if [[ $(id -u) -eq 0 ]]; then
		apt-get install -y -qq time >/dev/null
	else
		sudo apt-get install -y -qq time >/dev/null
	fi
fi

mkdir -p "$DATADIR" "$WORKDIR"
DATADIR=$(cd "$DATADIR" && pwd)
WORKDIR=$(cd "$WORKDIR" && pwd)

# Build both binaries from one source tree.
if [[ $REV == worktree ]]; then
	SRC=$ROOT
	DESC="worktree $(git describe --always --dirty)"
else
	SRC=$WORKDIR/src
	rm -rf "$SRC"
	mkdir -p "$SRC"
	git archive "$REV" | tar -x -C "$SRC"
	DESC="commit $(git rev-parse --short "$REV")"
fi
(cd "$SRC" && go build -o "$WORKDIR/ipatlas" ./cmd/ipatlas && go build -o "$WORKDIR/buildbench" ./bench/buildbench)
IPATLAS=$WORKDIR/ipatlas
BB=$WORKDIR/buildbench
GENFLAGS=(-seed "$SEED" -ipv4-count "$IPV4_COUNT" -ipv6 "$IPV6" -combos "$COMBOS")
ROWS=$((IPV4_COUNT + IPV6))
BASE=$DATADIR/rows-s$SEED-v4_$IPV4_COUNT-v6_$IPV6-c$COMBOS

if [[ ! -f $BASE.csv.gz || ! -f $BASE.jsonl.gz ]]; then
	echo "buildbench.sh: generating $ROWS rows into $BASE.{csv,jsonl}.gz" >&2
	df -h "$DATADIR" >&2
	"$BB" gen "${GENFLAGS[@]}" -csv "$BASE.csv.gz" -jsonl "$BASE.jsonl.gz" >&2
fi

# to_seconds turns GNU time's "h:mm:ss" or "m:ss.ss" into seconds.
to_seconds() {
	awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}
# timed FILE: wall seconds and peak RSS (KiB) from a /usr/bin/time -v file.
wall_of() { to_seconds "$(awk '/Elapsed \(wall clock\) time/ { print $NF }' "$1")"; }
rss_of() { awk '/Maximum resident set size/ { print $NF }' "$1"; }
cpu_of() { awk '/(User|System) time \(seconds\)/ { s += $NF } END { printf "%.2f", s }' "$1"; }

RAW=$WORKDIR/runs.tsv
printf 'input\trun\tinput_bytes\trows\tingest_networks\tingest_s\tingest_cpu_s\tingest_rss_kib\tstore_bytes\tentries\tnetworks\trecords\tcompile_s\tcompile_cpu_s\tcompile_rss_kib\tmmdb_bytes\tfile_networks\tload_ingest\tload_compile\n' >"$RAW"
echo "buildbench.sh: $DESC, workdir $WORKDIR, $(nproc) CPUs, $RUNS runs" >&2
for input in $INPUTS; do
	in=$BASE.$input.gz
	inbytes=$(stat -c %s "$in")
	for run in $(seq 1 "$RUNS"); do
		store=$WORKDIR/store.$input
		mmdb=$WORKDIR/out.$input.mmdb
		rm -rf "$store" "$mmdb"
		sync
		load1=$(cut -d' ' -f1 /proc/loadavg)
		/usr/bin/time -v -o "$WORKDIR/ingest.time" "$IPATLAS" ingest --db "$store" --source bench "$in" >"$WORKDIR/ingest.out"
		# "PATH: N rows, M networks"
		read -r rows nets < <(sed -nE 's/.*: ([0-9]+) rows, ([0-9]+) networks.*/\1 \2/p' "$WORKDIR/ingest.out")
		if [[ $rows != "$ROWS" ]]; then
			echo "buildbench.sh: $in: ingest read $rows rows, want $ROWS" >&2
			exit 1
		fi
		store_bytes=$(du -sb "$store" | cut -f1)
		load2=$(cut -d' ' -f1 /proc/loadavg)
		/usr/bin/time -v -o "$WORKDIR/compile.time" "$IPATLAS" compile --db "$store" --out "$mmdb" >"$WORKDIR/compile.out"
		# "OUT: N networks from M stored (S skipped), R distinct records, B bytes"
		read -r networks entries records < <(sed -nE 's/.*: ([0-9]+) networks from ([0-9]+) stored .*, ([0-9]+) distinct records.*/\1 \2 \3/p' "$WORKDIR/compile.out")
		mmdb_bytes=$(stat -c %s "$mmdb")
		file_networks=-
		if [[ $run == 1 ]]; then
			echo "buildbench.sh: checking $mmdb" >&2
			line=$("$BB" check "${GENFLAGS[@]}" -samples "$SAMPLES" "$mmdb")
			echo "  $line" >&2
			file_networks=$(sed -nE 's/.*networks_in_file=([0-9]+).*/\1/p' <<<"$line")
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$input" "$run" "$inbytes" "$rows" "$nets" "$(wall_of "$WORKDIR/ingest.time")" "$(cpu_of "$WORKDIR/ingest.time")" \
			"$(rss_of "$WORKDIR/ingest.time")" "$store_bytes" "$entries" "$networks" "$records" \
			"$(wall_of "$WORKDIR/compile.time")" "$(cpu_of "$WORKDIR/compile.time")" "$(rss_of "$WORKDIR/compile.time")" \
			"$mmdb_bytes" "$file_networks" "$load1" "$load2" >>"$RAW"
		tail -n 1 "$RAW" >&2
		if [[ $KEEP != 1 || $run != "$RUNS" ]]; then
			rm -rf "$store" "$mmdb"
		fi
	done
done

echo "buildbench.sh: $DESC; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%dT%H:%MZ)" >&2
print_table "$RAW"
echo "buildbench.sh: raw figures in $RAW" >&2
