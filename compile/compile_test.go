package compile

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

func record(t *testing.T, id uint32, conf float64) []byte {
	t.Helper()
	b, err := format.AppendValue(nil, format.Map{"id": format.Uint32(id), "ipatlas": format.Map{"confidence": format.Float64(conf)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEqualPrefixes checks hand-worked tie-breaks on one prefix: the
// higher priority wins whatever the confidence; of equal priorities the
// higher confidence wins whatever the order.
func TestEqualPrefixes(t *testing.T) {
	p := netip.MustParsePrefix("192.0.2.0/24")
	cases := []struct {
		name string
		in   []Network // in store order: priority descending
		want uint32
	}{
		{"one layer", []Network{{Prefix: p, Priority: 1, Value: record(t, 1, 0.1)}}, 1},
		{"higher priority beats higher confidence", []Network{
			{Prefix: p, Priority: 5, Value: record(t, 1, 0.1)},
			{Prefix: p, Priority: 2, Value: record(t, 2, 0.9)},
		}, 1},
		{"equal priority, second more confident", []Network{
			{Prefix: p, Priority: 3, Layer: 1, Value: record(t, 1, 0.3)},
			{Prefix: p, Priority: 3, Layer: 2, Value: record(t, 2, 0.7)},
		}, 2},
		{"equal priority, first more confident", []Network{
			{Prefix: p, Priority: 3, Layer: 1, Value: record(t, 1, 0.8)},
			{Prefix: p, Priority: 3, Layer: 2, Value: record(t, 2, 0.7)},
			{Prefix: p, Priority: 1, Layer: 3, Value: record(t, 3, 1.0)},
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, _ := compileAll(t, c.in)
			file := testutil.ReadFile(t, path)
			db, err := format.Parse(file)
			if err != nil {
				t.Fatal(err)
			}
			off, _, found, err := db.Lookup(netip.MustParseAddr("192.0.2.77"))
			if err != nil || !found {
				t.Fatalf("lookup: found %v, %v", found, err)
			}
			v, _, err := db.Decoder().Value(off)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.(format.Map)["id"]; got != format.Uint32(c.want) {
				t.Errorf("record %v won, want %d", got, c.want)
			}
		})
	}
}

// TestStatsRecords: Stats.Records is what the file holds, the distinct data
// offsets its networks point to as maxminddb-golang v2 lists them, also
// when the last network brings a record of its own (written at Close).
func TestStatsRecords(t *testing.T) {
	a, b, c := record(t, 1, 0.1), record(t, 2, 0.2), record(t, 3, 0.3)
	cases := []struct {
		name string
		in   []Network
	}{
		{"one", []Network{{Prefix: netip.MustParsePrefix("1.0.0.0/24"), Value: a}}},
		{"last new", []Network{
			{Prefix: netip.MustParsePrefix("1.0.0.0/24"), Value: a},
			{Prefix: netip.MustParsePrefix("2.0.0.0/24"), Value: b},
		}},
		{"last repeated", []Network{
			{Prefix: netip.MustParsePrefix("1.0.0.0/24"), Value: a},
			{Prefix: netip.MustParsePrefix("2.0.0.0/24"), Value: b},
			{Prefix: netip.MustParsePrefix("3.0.0.0/24"), Value: a},
		}},
		{"adjacent equal merged, then new", []Network{
			{Prefix: netip.MustParsePrefix("10.0.0.0/25"), Value: a},
			{Prefix: netip.MustParsePrefix("10.0.0.128/25"), Value: a},
			{Prefix: netip.MustParsePrefix("2001:db8::/32"), Value: c},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, st := compileAll(t, tc.in)
			db := testutil.OpenV2(t, path)
			offsets := map[uintptr]bool{}
			for res := range db.Networks() {
				if res.Err() != nil {
					t.Fatal(res.Err())
				}
				offsets[res.Offset()] = true
			}
			if st.Records != len(offsets) {
				t.Errorf("Stats.Records %d, the file's networks point to %d distinct records", st.Records, len(offsets))
			}
		})
	}
}

// compileAll compiles the networks in to a new file and returns its path
// and the stats.
func compileAll(t *testing.T, in []Network) (string, Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.mmdb")
	st, err := CompileNetworks(func(yield func(Network, error) bool) {
		for _, n := range in {
			if !yield(n, nil) {
				return
			}
		}
	}, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}
