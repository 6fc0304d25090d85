// Package importcheck has no API: its tests enforce the import directions
// that the layout table of README.md sets for the module's packages
// (SPEC.md's layout, beside the checkout, as the module has grown), so that a
// light reader never grows a dependency on the store, Pebble stays inside
// kv (and builder and compile reach it only through kv), and the shipped
// binary links no peer library.
//
// It owns the rule table (rules, in importcheck_test.go: for each folder,
// what its non-test files may import directly) and the list of what the
// shipped binary must not link (notShipped, in shipped_test.go). It
// imports nothing but the standard library and reads the module only
// through `go list`, so it cannot itself add an edge to the graph it
// checks. Test files are not checked: they may import anything (peer
// readers for cross-checks, say).
//
// Invariants:
//
//  1. Every package of the module is covered by a rule (first match
//     wins), and every direct import of its non-test files is one its
//     rule allows; a package no rule covers is an error, so a new
//     top-level folder has to be added to README.md's layout and to the table
//     (TestImportDirections; the checker itself: TestCheckImports).
//  2. Packages marked testOnly (internal/testutil, internal/servetest)
//     are imported by no non-test file outside themselves
//     (TestImportDirections).
//  3. `go list -deps ./cmd/ipatlas` lists no peer reader or writer
//     (maxminddb-golang in any major version, geoip2-golang, mmdbwriter),
//     no gonum plotting and no bench/ package; those belong to
//     cmd/ipatlas-bench, where the same search must find them, so the
//     check is known to see them (TestShippedDeps; the chain search:
//     TestImportChains). A failure names the chain of imports.
package importcheck
