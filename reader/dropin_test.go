package reader

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// dropinProgram is a program written for maxminddb-golang v2, following
// the usage examples of its documentation: Open, Lookup and Decode into a
// struct, Found and Prefix, DecodePath, LookupOffset for caching by
// offset, Networks and NetworksWithin with their options, Metadata and
// BuildTime, Verify, errors.As on the error types, Close. IMPORT is
// replaced by the reader's import path; nothing else changes.
const dropinProgram = `package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	maxminddb "IMPORT"
)

func main() {
	dir := os.Args[1]
	db, err := maxminddb.Open(dir + "/GeoIP2-City-Test.mmdb")
	if err != nil {
		panic(err)
	}
	defer db.Close()

	// Example: Lookup and Decode into a struct.
	var record struct {
		City struct {
			Names map[string]string ` + "`maxminddb:\"names\"`" + `
		} ` + "`maxminddb:\"city\"`" + `
		Country struct {
			ISOCode string ` + "`maxminddb:\"iso_code\"`" + `
		} ` + "`maxminddb:\"country\"`" + `
		Location struct {
			Latitude  float64 ` + "`maxminddb:\"latitude\"`" + `
			Longitude float64 ` + "`maxminddb:\"longitude\"`" + `
		} ` + "`maxminddb:\"location\"`" + `
		Subdivisions []struct {
			ISOCode string ` + "`maxminddb:\"iso_code\"`" + `
		} ` + "`maxminddb:\"subdivisions\"`" + `
	}
	for _, s := range []string{"81.2.69.142", "2001:218::1", "1.2.3.4", "::ffff:81.2.69.142"} {
		res := db.Lookup(netip.MustParseAddr(s))
		if err := res.Decode(&record); err != nil {
			panic(err)
		}
		fmt.Println(s, res.Found(), res.Prefix(), record.City.Names["en"], record.Country.ISOCode, record.Location.Latitude, record.Subdivisions)
	}

	// Example: DecodePath.
	var isoCode string
	res := db.Lookup(netip.MustParseAddr("81.2.69.142"))
	if err := res.DecodePath(&isoCode, "country", "iso_code"); err != nil {
		panic(err)
	}
	var firstSub any
	_ = res.DecodePath(&firstSub, "subdivisions", 0, "names", "en")
	fmt.Println("path:", isoCode, firstSub)

	// Example: caching by offset with LookupOffset.
	cache := map[uintptr]any{}
	for _, s := range []string{"81.2.69.142", "81.2.69.143", "89.160.20.112"} {
		res := db.Lookup(netip.MustParseAddr(s))
		if v, ok := cache[res.Offset()]; ok {
			fmt.Println("cached", s, v)
			continue
		}
		var v any
		if err := db.LookupOffset(res.Offset()).Decode(&v); err != nil {
			panic(err)
		}
		cache[res.Offset()] = v
		fmt.Println("decoded", s, v)
	}

	// Example: Networks and NetworksWithin.
	n := 0
	for res := range db.Networks() {
		var v struct {
			Country struct {
				ISOCode string ` + "`maxminddb:\"iso_code\"`" + `
			} ` + "`maxminddb:\"country\"`" + `
		}
		if err := res.Decode(&v); err != nil {
			panic(err)
		}
		if n++; n <= 5 {
			fmt.Println("network", res.Prefix(), v.Country.ISOCode)
		}
	}
	fmt.Println("networks:", n)
	for res := range db.NetworksWithin(netip.MustParsePrefix("81.2.69.0/24"), maxminddb.SkipEmptyValues()) {
		fmt.Println("within", res.Prefix(), res.Found())
	}
	e := 0
	for range db.Networks(maxminddb.IncludeNetworksWithoutData(), maxminddb.IncludeAliasedNetworks()) {
		e++
	}
	fmt.Println("with empty and aliased:", e)

	// Example: metadata and Verify.
	fmt.Println(db.Metadata.DatabaseType, db.Metadata.IPVersion, db.Metadata.NodeCount, db.Metadata.BuildTime().UTC(), db.Metadata.Languages)
	fmt.Println("verify:", db.Verify())

	// Example: errors.
	var bad struct {
		Country int ` + "`maxminddb:\"country\"`" + `
	}
	err = db.Lookup(netip.MustParseAddr("81.2.69.142")).Decode(&bad)
	var ute maxminddb.UnmarshalTypeError
	fmt.Println("type error:", errors.As(err, &ute), err)
	_, err = maxminddb.Open(dir + "/../bad-data/maxminddb-golang/cyclic-data-structure.mmdb")
	var ide maxminddb.InvalidDatabaseError
	fmt.Println("invalid:", errors.As(err, &ide), err)
	fmt.Println("not pointer:", db.Lookup(netip.MustParseAddr("81.2.69.142")).Decode(record))

	// Example: OpenBytes with an option.
	b, err := os.ReadFile(dir + "/GeoLite2-ASN-Test.mmdb")
	if err != nil {
		panic(err)
	}
	asn, err := maxminddb.OpenBytes(b, maxminddb.DisableStringCache())
	if err != nil {
		panic(err)
	}
	var a struct {
		Number uint   ` + "`maxminddb:\"autonomous_system_number\"`" + `
		Org    string ` + "`maxminddb:\"autonomous_system_organization\"`" + `
	}
	res = asn.Lookup(netip.MustParseAddr("1.128.0.1"))
	fmt.Println("asn:", res.Decode(&a), a, res.Prefix())
	fmt.Println("close:", asn.Close(), "lookup after close:", asn.Lookup(netip.MustParseAddr("1.1.1.1")).Err())
}
`

// TestDropIn builds the same program twice, once importing
// maxminddb-golang v2 and once importing this package, runs both, and
// requires identical output: switching is a change of import path.
func TestDropIn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	abs, err := filepath.Abs(testutil.Conformance(t, "test-data"))
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(".", ".dropin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	out := map[string]string{}
	for _, imp := range []string{"github.com/oschwald/maxminddb-golang/v2", "github.com/ipatlas/ipatlas/reader"} {
		dir := filepath.Join(tmp, strings.ReplaceAll(filepath.Base(filepath.Dir(imp))+filepath.Base(imp), ".", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(dir, "main.go")
		if err := os.WriteFile(src, []byte(strings.ReplaceAll(dropinProgram, "IMPORT", imp)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "run", src, abs)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", imp, err, b)
		}
		out[imp] = string(b)
	}
	ours, theirs := out["github.com/ipatlas/ipatlas/reader"], out["github.com/oschwald/maxminddb-golang/v2"]
	if ours != theirs {
		t.Fatalf("outputs differ\nipatlas:\n%s\nmaxminddb-golang:\n%s", ours, theirs)
	}
	if !strings.Contains(ours, "networks:") || !strings.Contains(ours, "type error: true") {
		t.Fatalf("the program did not run its examples:\n%s", ours)
	}
	t.Logf("identical output:\n%s", ours)
}
