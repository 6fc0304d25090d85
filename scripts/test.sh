#!/usr/bin/env bash
# test.sh: the project's one test command (README "Quick start"; .ci/run
# runs it too). First it installs what the tests need when it is missing
# (scripts/setup.sh: the apt readers, the pinned staticcheck, the data; one
# line and well under a second when all is there), then it runs:
#
#   1. gofmt -l        must list no file
#   2. go vet ./...
#   3. staticcheck ./...   (PATH, else $(go env GOPATH)/bin)
#   4. go test -race -count=1 -timeout 30m ./...  (cmd/ipatlas takes ~8 min under -race on 2 cores)
#
# Every step runs even when an earlier one fails, so one run shows every
# problem; the exit status is non-zero if any step failed. go test runs last
# and its output is printed unchanged, so its closing ok/FAIL lines are visible.
# Extra arguments are passed to go test (e.g. -run TestFoo, -v), except a
# first argument --setup-only (run only the setup) or --no-setup (skip it).
#
# Tests that need an outside reader (mmdblookup, /usr/bin/python3 with
# maxminddb) or real data (data/, see scripts/fetch-data.sh) skip with a
# message when it is missing, except under CI=true, where they fail.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

failed=()
step() { echo "== $*" >&2; }

case "${1:-}" in
--setup-only)
	exec bash scripts/setup.sh
	;;
--no-setup)
	shift
	;;
*)
	bash scripts/setup.sh || exit 1
	;;
esac
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
export PATH="$PATH:$gobin"

step "gofmt -l (tracked Go files)"
unformatted="$(git ls-files -z '*.go' | xargs -0 gofmt -l 2>&1)"
if [[ -n "$unformatted" ]]; then
	echo "$unformatted" | sed 's/^/  not gofmt-ed: /' >&2
	failed+=("gofmt")
fi

step "go vet ./..."
go vet ./... || failed+=("go vet")

step "staticcheck ./..."
sc=""
[[ -x "$gobin/staticcheck" ]] && sc="$gobin/staticcheck"
if [[ -z "$sc" ]]; then
	echo "  staticcheck not found on PATH nor in \$(go env GOPATH)/bin;" >&2
	echo "  install it: go install honnef.co/go/tools/cmd/staticcheck@v0.8.2" >&2
	failed+=("staticcheck (missing)")
else
	"$sc" ./... || failed+=("staticcheck")
fi

step "go test -race -count=1 -timeout 30m${*:+ $*} ./..."
go test -race -count=1 -timeout 30m "$@" ./... || failed+=("go test")

if ((${#failed[@]})); then
	printf 'test.sh: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}")" >&2
	exit 1
fi
