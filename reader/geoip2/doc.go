// Package geoip2 gives typed lookups over reader: models with the field
// names, types and tags of github.com/oschwald/geoip2-golang/v2 (City,
// Country, Enterprise, ASN) and ipatlas's own record (Atlas: the region
// hierarchy with a confidence per level).
//
// Each model has two lookups. City (Country, Enterprise, ASN) behaves as
// geoip2-golang's: it returns a private copy with Traits.IPAddress and
// Traits.Network set. CityShared (CountryShared, ...) returns the decoded
// record itself, shared by every lookup that lands on the same data
// offset, and the network as a separate value: it does not allocate once
// the record is cached.
//
// Invariants: a cached record is never modified after it is stored, so it
// can be read from any goroutine without locks; records hold copies of
// the file's strings, never views of the mapped file, so they stay valid
// after the file is replaced or unmapped; a private copy (City, Country,
// Enterprise, ASN) shares no writable memory with the cached record, so
// writing through its pointers and slices changes no later answer
// (TestPrivateCopyIsDeep, TestPrivateCopyRace). The cache holds at most
// WithCacheSize records per model (DefaultCacheSize by default) in a
// lock-free set-associative table of atomic pointers.
//
// The models themselves are package schema's (this package declares them
// as aliases), the one typed record model that the writer side is held
// to (TestAtlasCoversRecord, schema). geoip2 reads only through reader
// and imports nothing else of the module but schema: no peer reader, no
// Pebble.
//
// Concurrency: a Reader is safe for concurrent use by any number of
// goroutines, except Close. Handle replaces the database while lookups run.
package geoip2
