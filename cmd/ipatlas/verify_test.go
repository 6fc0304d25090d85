package main

// brokenConformance are the conformance test-data files MaxMind broke on
// purpose (format/conformance_test.go's brokenTestData), with why.
var brokenConformance = map[string]string{
	"GeoIP2-City-Test-Broken-Double-Format.mmdb": "a double with a 5-byte payload",
	"GeoIP2-City-Test-Invalid-Node-Count.mmdb":   "node_count 100000 does not fit the file",
	"MaxMind-DB-test-broken-pointers-24.mmdb":    "records point past the data section",
	"MaxMind-DB-test-broken-search-tree-24.mmdb": "a path of the tree runs past bit 32",
}
