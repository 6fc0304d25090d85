// Package testutil holds what the module's tests share: where the data
// they read lives (MaxMind's conformance suite beside the checkout, the
// real databases scripts/fetch-data.sh puts under data/), the rule for a
// missing piece, replayable seeds, and wrappers of the independent
// readers the tests check answers with (libmaxminddb's mmdblookup,
// python3-maxminddb and maxminddb-golang v2).
//
// It owns test plumbing only; it holds no expected answer of its own
// beyond its self-tests, and the readers it wraps are never ipatlas's.
//
// Invariants:
//
//  1. Only tests import it (a testOnly rule of internal/importcheck's
//     TestImportDirections), so nothing here, maxminddb-golang included,
//     reaches a shipped binary.
//  2. It imports no package of this module (same rule), so that the
//     internal tests of format and reader (package format, package
//     reader) can use it without an import cycle.
//  3. The skip-or-fail rule: a test that needs an outside reader or data
//     that is not in the repository skips with a message saying how to
//     get it when it is missing, except when CI=true, where it fails
//     (Need: TestNeedRule; Require: TestRequire).
//  4. Paths are found from the module root (the directory holding go.mod
//     above the test's working directory), so a helper gives the same
//     file at any package depth (TestRoot).
//  5. Each oracle answers the hand-written record of a conformance
//     address (TestOracles), and mmdblookup's output is parsed to typed
//     values (TestParseMmdblookup), so a wrapper bug cannot make a wrong
//     answer agree.
//  6. Seed logs the seed with the command that replays the test
//     (IPATLAS_SEED); ErrorNotPanic fails a test on a panic or a nil
//     error (TestErrorNotPanic).
//
// Helpers take a testing.TB and fail it rather than return errors; there
// is no global state.
package testutil
