// Package model holds the record models the benchmarks decode into, so
// that the bench suite (bench/suite) and the reader's Go benchmarks
// (reader/bench_test.go) measure the same work.
//
// It owns types only: CityMaps, a geoip2-golang v1 style City model whose
// names are maps (the typed model of geoip2-golang v2 and ipatlas is
// schema.City). It has no functions and imports nothing, not even a
// reader, so that the reader's tests and bench/suite can both import it
// without a cycle and without linking a peer.
//
// Invariant: every field is tagged `maxminddb:"key"` with the GeoIP2 key
// it decodes, so ipatlas's reader and maxminddb-golang fill it alike; the
// suite's like-for-like groups count and compare the answers of every
// path that decodes into it before timing them (bench/suite).
//
// The types are plain values; there is no state.
package model
