// Package geo holds the great-circle geometry the rest of ipatlas shares:
// distances between WGS84 points on a sphere of the mean Earth radius
// (EarthRadiusKm), unit vectors, and the address-weighted centroid of
// points. compile, gazetteer and eval all measure with it, so
// that "km" means the same everywhere. It owns formulas only: it imports
// only the standard library (math) and knows nothing of records,
// databases or places.
//
// Invariants:
//
//  1. Distance is symmetric, zero for equal points, and never NaN for
//     coordinates in range (TestDistance, against hand-worked values).
//  2. Chord and Distance are monotone in each other: KmOfChord2 of the
//     squared chord between a and b (Chord2 of their vectors) is
//     Distance(a, b), and ChordOfKm its inverse; LatLon undoes ToVec
//     (TestChordRoundTrip), so a search in chord space (gazetteer's k-d
//     tree) orders points as Distance does.
//  3. A Centroid is the weighted mean of unit vectors, so it does not
//     break at the date line (TestCentroid: 179 and -179 weighted 3:1
//     give 179.5 within 0.01 degree).
//
// All functions are pure and safe for concurrent use; a Centroid is a
// plain value used by one goroutine.
package geo
