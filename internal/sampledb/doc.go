// Package sampledb compiles the project's sample inference results
// (testdata/sample/bertgeo.csv, written by builder/internal/gensample) into
// a small .mmdb for the Example functions and tests that need a real
// database without fetched data, and reads a row of that CSV back with
// encoding/csv, an independent path to check what an example prints.
//
// It is test support, never linked into a command (TestShippedDeps in
// internal/importcheck). City writes what `ipatlas build --out F
// testdata/sample/bertgeo.csv` would answer: builder.ReadFile's networks
// in store order, compiled by compile.CompileNetworks with the default
// options, with no store in between (one source has nothing to resolve).
// Store ingests the same CSV into a kv store, for the examples of what
// compiles from one (compile's ExampleCompile); it is the only user of kv.
//
// Invariants:
//
//  1. Nothing here keeps state between calls; City and Store write only
//     inside the directory they are given, their temporary and spill
//     files included (TempCity in a new temporary one, which its cleanup
//     removes).
//  2. Rows and Row read the CSV with encoding/csv alone (not builder's
//     reader), so a bug in builder's parsing cannot hide in the expected
//     values; Rows gives every data row with its line number, as a plain
//     scan of the file finds them, and Row finds one by network or says
//     it is missing (TestRows).
//  3. Stdout returns what its function printed and puts os.Stdout back
//     (TestStdout).
//
// City, Store, Rows and Row are safe for concurrent use. Stdout swaps the
// process's os.Stdout while its function runs, so nothing else may print
// meanwhile (Example functions run one at a time).
package sampledb
