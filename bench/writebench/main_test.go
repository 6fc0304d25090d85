package main

import (
	"io"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
)

// TestRecordsDeterministic checks that records depend on the seed only,
// and that they are distinct, as the benchmark's record count promises.
func TestRecordsDeterministic(t *testing.T) {
	const n = 2000
	a := config{records: n, seed: 7}.generate()
	b := config{records: n, seed: 7}.generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("seed 7 generated different records twice")
	}
	c := config{records: n, seed: 8}.generate()
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 7 and 8 generated the same records")
	}
	seen := make(map[string]int, n)
	for r, rec := range a {
		buf, err := toFormatBytes(rec)
		if err != nil {
			t.Fatalf("record %d: %v", r, err)
		}
		if prev, ok := seen[buf]; ok {
			t.Fatalf("records %d and %d are equal", prev, r)
		}
		seen[buf] = r
	}
}

// TestNetworksSorted checks that the networks come in address order and
// avoid the IPv4 aliases of both writers.
func TestNetworksSorted(t *testing.T) {
	cfg := config{records: 100, ipv4Count: 300, ipv6: 100000, seed: 3}
	aliases := []netip.Prefix{
		netip.MustParsePrefix("2001::/32"),
		netip.MustParsePrefix("2002::/16"),
		netip.MustParsePrefix("::ffff:0:0/96"),
	}
	var prev netip.Prefix
	err := cfg.eachNetwork(func(p netip.Prefix, rec int) error {
		if rec < 0 || rec >= cfg.records {
			t.Fatalf("%s: record %d out of range", p, rec)
		}
		if prev.IsValid() && p.Addr().Is6() == prev.Addr().Is6() && !prev.Addr().Less(p.Addr()) {
			t.Fatalf("%s after %s", p, prev)
		}
		for _, a := range aliases {
			if a.Overlaps(p) {
				t.Fatalf("%s overlaps the alias %s", p, a)
			}
		}
		if p.Addr().Is6() && !netip.MustParsePrefix("2000::/3").Overlaps(p) {
			t.Fatalf("%s outside 2000::/3", p)
		}
		prev = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWritersAgree writes a small database with both writers and checks
// that they answer identically and match the generated records.
func TestWritersAgree(t *testing.T) {
	cfg := config{records: 3000, ipv4Count: 1024, ipv6: 1000, seed: 11}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ipatlas.mmdb"), filepath.Join(dir, "mmdbwriter.mmdb")
	if _, err := writeIPAtlas(cfg, a, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := writeMMDBWriter(cfg, b, ""); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := runCheck(cfg, a, b, 20000, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "check ok") {
		t.Fatalf("check output:\n%s", out.String())
	}
}

// TestCheckFindsDifference checks that -check fails on files written from
// different seeds.
func TestCheckFindsDifference(t *testing.T) {
	cfg := config{records: 50, ipv4Count: 64, seed: 1}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb")
	if _, err := writeIPAtlas(cfg, a, ""); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.seed = 2
	if _, err := writeMMDBWriter(other, b, ""); err != nil {
		t.Fatal(err)
	}
	if err := runCheck(cfg, a, b, 100, io.Discard); err == nil {
		t.Fatal("check passed on databases of different seeds")
	}
}

// toFormatBytes is the canonical encoding of a generated record.
func toFormatBytes(rec map[string]any) (string, error) {
	b, err := format.AppendValue(nil, toFormat(rec))
	return string(b), err
}
