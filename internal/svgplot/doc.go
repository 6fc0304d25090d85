// Package svgplot writes the few plots of ipatlas's reports as plain SVG:
// line plots (linear or logarithmic x axis, an optional y = x diagonal)
// and grouped bar charts. eval's report draws with it.
//
// It owns the drawing and nothing else: it imports only the standard
// library and is small on purpose, so that the ipatlas binary does not
// link a plotting library (bench/report uses gonum/plot in
// cmd/ipatlas-bench; the CLI must not: TestShippedDeps in
// internal/importcheck).
//
// Invariants:
//
//  1. Output is deterministic: the same plot gives the same bytes
//     (TestLines).
//  2. Output is well-formed XML whatever the titles and names hold: text
//     is HTML-escaped (TestLines, TestBars).
//  3. Points that cannot be drawn are left out, never drawn at a wrong
//     place: NaN values, x <= 0 on a logarithmic axis (TestLines), NaN
//     bars (TestBars); points outside fixed axis bounds are clamped to
//     the frame. An empty plot is still a valid SVG (TestBars).
//  4. The SVG is built in memory and written with one Write, so a writer
//     gets the whole plot or the write's error.
//
// Plots are plain values; the package has no mutable state and is safe
// for concurrent use.
package svgplot
