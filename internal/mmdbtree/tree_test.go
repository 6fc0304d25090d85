package mmdbtree

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mmdb")
	os.WriteFile(empty, nil, 0o644)
	junk := filepath.Join(dir, "junk.mmdb")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.mmdb"): "no such file",
		empty:                              "file is empty",
		junk:                               junk + ": ",
	} {
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", path, err, want)
		}
	}
}

// TestWalkConformance walks a conformance database, mapped, and closes
// it; the networks come in address order. (cmd/ipatlas's walk tests hold
// the walk to maxminddb-golang's.)
func TestWalkConformance(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	tr, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var last netip.Prefix
	n := 0
	err = tr.Walk(func([16]byte, int) bool { return false }, func(p netip.Prefix, off uint) error {
		if last.IsValid() && last.Addr().Is4() == p.Addr().Is4() && p.Addr().Compare(last.Addr()) <= 0 {
			t.Errorf("%s after %s", p, last)
		}
		last = p
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %d networks, %v", n, err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestWalkAliases walks a mixed conformance tree with aliases skipped and
// followed: following them adds each IPv4 network once per alias, as
// IPv6 networks (independently: the IPv4 networks mapped into the alias
// prefixes the tree holds, found by Lookup of the alias's first address),
// Visited counts the visits, and Leaves gives what Walk gives.
func TestWalkAliases(t *testing.T) {
	tr, err := Open(testutil.Conformance(t, "test-data", "MaxMind-DB-test-mixed-24.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	collect := func(follow func([16]byte, int) bool) (v4, v6 []netip.Prefix) {
		err := tr.Walk(follow, func(p netip.Prefix, _ uint) error {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			} else {
				v6 = append(v6, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v4, v6
	}
	v4, v6 := collect(func([16]byte, int) bool { return false })
	if tr.Visited.Load() == 0 {
		t.Error("Visited is 0 after a walk")
	}
	v4all, v6all := collect(func([16]byte, int) bool { return true })
	if len(v4) == 0 || len(v4all) != len(v4) {
		t.Fatalf("IPv4 networks: %d, %d when following aliases", len(v4), len(v4all))
	}
	// Each IPv4 network appears under each alias: ::ffff:a.b.c.d/96+n in
	// ::ffff:0:0/96, and 2002:a.b.c.d::/16+n in 2002::/16.
	under := func(alias netip.Prefix) int {
		n := 0
		for _, p := range v6all {
			if alias.Overlaps(p) {
				n++
			}
		}
		return n
	}
	for _, alias := range []string{"::ffff:0:0/96", "2002::/16"} {
		if got := under(netip.MustParsePrefix(alias)); got != len(v4) {
			t.Errorf("%s holds %d networks when following aliases, want the %d IPv4 ones", alias, got, len(v4))
		}
	}
	aliased := len(v6all) - len(v6)
	if aliased%len(v4) != 0 || aliased == 0 {
		t.Errorf("following aliases added %d IPv6 networks, not a multiple of the %d IPv4 ones", aliased, len(v4))
	}
	n := 0
	for _, err := range tr.Leaves(format.WalkOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(v4)+len(v6) {
		t.Errorf("Leaves gave %d networks, Walk %d", n, len(v4)+len(v6))
	}
}
