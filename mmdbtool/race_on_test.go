//go:build race

package mmdbtool

// underRace is true under the race detector, where TestRecordJSONRealFiles
// leaves GeoLite2-City out (cmd/ipatlas's TestExportGeoLiteRoundTrip
// checks its records by export, build and maxminddb-golang).
const underRace = true
