// Package servetest holds what the tests of the lookup service share,
// in process (package serve, over httptest) and as a process (ipatlas
// serve): an HTTP client with the answer types, /metrics scraped with
// Prometheus's own parser, a load of concurrent clients counting what
// they get, and the ways files are replaced (renamed over, written in
// place, a FIFO put in a file's place), plus the scenarios both run
// (InPlaceAftermath, CheckItemErrors, CheckGzip).
//
// It owns test plumbing only. It does not import serve, reader or any
// other module package: it speaks to a service through its HTTP address,
// so one helper serves the in-process handler and the child process
// alike; its only outside import is Prometheus's exposition parser.
// Only tests may import it (a testOnly rule of internal/importcheck's
// TestImportDirections), so nothing here reaches a binary.
//
// Invariants:
//
//  1. Every helper takes a testing.TB and fails the test, naming the
//     request and what came back, rather than returning an error.
//  2. Nothing waits for ever: a request gives up after 30 s (Client),
//     WaitFor and the helpers built on it after 20 s.
//  3. Scrape accepts only what Prometheus's own text parser accepts, with
//     the text format's Content-Type, so a malformed /metrics fails the
//     test whatever the assertions ask.
//  4. A Load's counts are complete when Stop returns: every client has
//     stopped, and a client stops at its first failure, which is kept.
//
// It holds no state of its own beyond the values it returns; a Load and a
// LockedBuffer are safe for concurrent use, the rest is called from the
// test's goroutine.
package servetest
