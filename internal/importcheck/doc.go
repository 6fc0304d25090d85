// Package importcheck has no API: its test enforces the import directions
// that SPEC.md's layout table sets for the module's packages, so that a light
// reader never grows a dependency on the store, and Pebble stays inside kv.
//
// The rule table lives in importcheck_test.go. It checks the direct imports
// of non-test Go files, as `go list -json ./...` reports them; test files may
// import anything (peer readers for cross-checks, say). Packages that do not
// exist yet are not checked; a package that no rule covers is an error, so a
// new top-level folder has to be added to SPEC.md and to the table.
//
// A second test (shipped_test.go, TestShippedDeps) checks what the shipped
// binary links, transitively: `go list -deps ./cmd/ipatlas` must list no
// peer reader or writer (maxminddb-golang, geoip2-golang, mmdbwriter), no
// gonum plotting and no bench/ package; those belong to cmd/ipatlas-bench.
package importcheck
