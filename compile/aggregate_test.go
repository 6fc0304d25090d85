package compile

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/schema"
)

// aggRow is one per-address input row.
type aggRow struct {
	addr netip.Addr
	in   schema.Inference
}

// perAddressRows generates a per-address workload with locality: cities
// own runs of /24 blocks (IPv4) or of /64s (IPv6 /128 rows); a block
// holds a share of its addresses as rows (dense runs with holes), each at
// its city's centre jittered by up to jitterKm. Rows come in address
// order, each with country, province and city (with geoname_ids) and
// confidences.
func perAddressRows(r *rand.Rand, cities, blocksPerCity int, fill, jitterKm float64) []aggRow {
	type city struct {
		lat, lon float64
		regions  []schema.Region
	}
	cs := make([]city, cities)
	for i := range cs {
		cc := []string{"FR", "DE", "JP", "BR"}[i%4]
		cs[i] = city{lat: r.Float64()*120 - 60, lon: r.Float64()*360 - 180, regions: []schema.Region{
			{Level: "country", Code: cc, Name: cc + " land", GeonameID: uint32(1000 + i%4)},
			{Level: "province", Code: cc + "-P" + fmt.Sprint(i%7), Name: "Province " + fmt.Sprint(i%7)},
			{Level: "city", Name: "City " + fmt.Sprint(i), GeonameID: uint32(100000 + i)},
		}}
	}
	var rows []aggRow
	add := func(a netip.Addr, c *city) {
		// Jitter: a random bearing and distance, in degrees.
		d := r.Float64() * jitterKm / 111.2
		b := r.Float64() * 2 * math.Pi
		lat := math.Max(-89, math.Min(89, c.lat+d*math.Cos(b)))
		lon := c.lon + d*math.Sin(b)/math.Cos(c.lat*math.Pi/180)
		lon = math.Mod(lon+540, 360) - 180
		in := schema.Inference{Regions: slices.Clone(c.regions), Latitude: lat, Longitude: lon, HasLocation: true,
			Confidence: r.Float64(), HasConfidence: true, Source: "gen"}
		for i := range in.Regions {
			in.Regions[i].Confidence, in.Regions[i].HasConfidence = r.Float64(), true
		}
		rows = append(rows, aggRow{a, in})
	}
	base := uint32(0x0a000000) // 10.0.0.0
	for i := range cs {
		for range blocksPerCity {
			for h := range 256 {
				if r.Float64() < fill {
					add(netip.AddrFrom4([4]byte{byte(base >> 24), byte(base >> 16), byte(base >> 8), byte(h)}), &cs[i])
				}
			}
			base += 256
		}
	}
	v6 := netip.MustParseAddr("2001:db8::").As16()
	for i := range cs {
		for range blocksPerCity {
			for h := range 64 {
				if r.Float64() < fill {
					a := v6
					a[15] = byte(h)
					add(netip.AddrFrom16(a), &cs[i])
				}
			}
			v6[7]++ // the next /64
		}
	}
	return rows
}

// compileRows compiles rows (each its own /32 or /128) with policy.
func compileRows(t *testing.T, rows []aggRow, policy Aggregation) (string, Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agg.mmdb")
	st, err := CompileNetworks(networksOf(t, rows), path, Options{Aggregate: policy})
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// networksOf yields rows as single-address networks, in order.
func networksOf(t *testing.T, rows []aggRow) iter.Seq2[Network, error] {
	return func(yield func(Network, error) bool) {
		for _, row := range rows {
			rec, err := row.in.Record(nil)
			if err != nil {
				t.Fatal(err)
			}
			v, err := format.AppendValue(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			if !yield(Network{Prefix: netip.PrefixFrom(row.addr, row.addr.BitLen()), Value: v}, nil) {
				return
			}
		}
	}
}

// answer is what an independent reader (maxminddb-golang v2) gives.
type answer struct {
	Country struct {
		IsoCode   string `maxminddb:"iso_code"`
		GeonameID uint32 `maxminddb:"geoname_id"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		IsoCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		GeonameID uint32            `maxminddb:"geoname_id"`
		Names     map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius *uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

// checkAnswers reads path with maxminddb-golang v2 and checks every row's
// address: the same region path down to city as the row, and its own
// point within the answer's accuracy_radius (and within maxKm of the
// answer's location when maxKm > 0, and within st's MaxKm). It returns
// the number of networks in the file.
func checkAnswers(t *testing.T, path string, rows []aggRow, st Stats, maxKm float64) int {
	t.Helper()
	db := testutil.OpenV2(t, path)
	for _, row := range rows {
		var a answer
		res := db.Lookup(row.addr)
		if err := res.Decode(&a); err != nil || !res.Found() {
			t.Fatalf("%s: found %v, %v", row.addr, res.Found(), err)
		}
		in := row.in
		if len(in.Regions) >= 3 {
			if a.Country.IsoCode != in.Regions[0].Code || a.Country.GeonameID != in.Regions[0].GeonameID ||
				len(a.Subdivisions) != 1 || a.Subdivisions[0].Names["en"] != in.Regions[1].Name ||
				a.City.GeonameID != in.Regions[2].GeonameID || a.City.Names["en"] != in.Regions[2].Name {
				t.Fatalf("%s: region path %+v, row's %+v", row.addr, a, in.Regions)
			}
		}
		if !in.HasLocation {
			continue
		}
		if a.Location.Latitude == nil || a.Location.Longitude == nil {
			t.Fatalf("%s: no location in the answer", row.addr)
		}
		d := geo.Distance(in.Latitude, in.Longitude, *a.Location.Latitude, *a.Location.Longitude)
		if d > 0 && (a.Location.AccuracyRadius == nil || d > float64(*a.Location.AccuracyRadius)+float64(in.AccuracyRadiusKm)) {
			t.Fatalf("%s: own point %.3f km from the answer's, accuracy_radius %v", row.addr, d, a.Location.AccuracyRadius)
		}
		if maxKm > 0 && d > maxKm+1e-9 {
			t.Fatalf("%s: own point %.3f km from the answer's, more than --max-merge-km %v", row.addr, d, maxKm)
		}
		if st.Aggregate.NetworksIn > 0 && d > st.Aggregate.MaxKm+1e-9 {
			t.Fatalf("%s: error %.3f km beyond the reported max %.3f km", row.addr, d, st.Aggregate.MaxKm)
		}
	}
	n := 0
	for res := range db.Networks() {
		if res.Err() != nil {
			t.Fatal(res.Err())
		}
		n++
	}
	return n
}

// TestAggregatePerAddress is issue 11's acceptance on a per-address
// workload: region:city has at least 10x fewer networks than exact, and
// every address's answer differs from its row only as the summary says.
func TestAggregatePerAddress(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rows := perAddressRows(r, 60, 3, 0.7, 5)
	exactPath, exactSt := compileRows(t, rows, Aggregation{})
	exactN := checkAnswers(t, exactPath, rows, exactSt, 0)
	regionPath, st := compileRows(t, rows, Aggregation{Level: "city"})
	regionN := checkAnswers(t, regionPath, rows, st, 0)
	a := st.Aggregate
	t.Logf("%d rows: exact %d networks, region:city %d (%.1fx); %s", len(rows), exactN, regionN, float64(exactN)/float64(regionN), a.Summary(Aggregation{Level: "city"}))
	if exactN < 10*regionN {
		t.Errorf("region:city has %d networks, exact %d: want at least 10x fewer", regionN, exactN)
	}
	if a.NetworksIn != len(rows) || a.Addresses != float64(len(rows)) {
		t.Errorf("NetworksIn %d, Addresses %v, want %d", a.NetworksIn, a.Addresses, len(rows))
	}
	if !(a.MeanKm > 0 && a.MedianKm > 0 && a.MaxKm <= 10 && a.MedianKm <= a.MaxKm && a.MeanKm <= a.MaxKm) {
		t.Errorf("error summary %+v: jitter is at most 5 km, so errors in (0, 10]", a)
	}
	// With a distance cap below the jitter, more networks, none beyond it.
	capPath, capSt := compileRows(t, rows, Aggregation{Level: "city", MaxMergeKm: 3})
	capN := checkAnswers(t, capPath, rows, capSt, 3)
	if capN <= regionN || capSt.Aggregate.MaxKm > 3 {
		t.Errorf("--max-merge-km 3: %d networks (uncapped %d), max error %.3f km", capN, regionN, capSt.Aggregate.MaxKm)
	}
	// region:country merges across cities: fewer networks still.
	countryPath, countrySt := compileRows(t, rows, Aggregation{Level: "country"})
	db := testutil.OpenV2(t, countryPath)
	for _, row := range rows {
		var a answer
		if err := db.Lookup(row.addr).Decode(&a); err != nil || a.Country.IsoCode != row.in.Regions[0].Code || a.City.GeonameID != 0 {
			t.Fatalf("region:country %s: %+v, %v", row.addr, a, err)
		}
	}
	if countrySt.Aggregate.NetworksOut > st.Aggregate.NetworksOut {
		t.Errorf("region:country %d networks out, region:city %d", countrySt.Aggregate.NetworksOut, st.Aggregate.NetworksOut)
	}
}

// TestAggregateProperty checks on random inputs (rows of mixed depth, with
// and without locations, IPv4 and IPv6, gaps) that every row's address
// keeps its region path down to the level and lies within the answer's
// accuracy_radius, whatever the policy.
func TestAggregateProperty(t *testing.T) {
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 99))
		rows := perAddressRows(r, 1+r.IntN(6), 1+r.IntN(2), r.Float64(), r.Float64()*300)
		// Mix in rows that cannot merge: without location, or shallower.
		for i := range rows {
			switch r.IntN(12) {
			case 0:
				rows[i].in.HasLocation = false
			case 1:
				rows[i].in.Regions = rows[i].in.Regions[:1]
			case 2:
				rows[i].in.AccuracyRadiusKm, rows[i].in.HasAccuracy = uint16(r.IntN(50)), true
			}
		}
		policy := Aggregation{Level: []string{"city", "province", "country"}[r.IntN(3)]}
		if r.IntN(2) == 0 {
			policy.MaxMergeKm = r.Float64() * 200
		}
		path, st := compileRows(t, rows, policy)
		db := testutil.OpenV2(t, path)
		depth := map[string]int{"country": 1, "province": 2, "city": 3}[policy.Level]
		for _, row := range rows {
			var a answer
			res := db.Lookup(row.addr)
			if err := res.Decode(&a); err != nil || !res.Found() {
				t.Fatalf("seed %d %s: %v", seed, row.addr, err)
			}
			in := row.in
			if len(in.Regions) >= 1 && a.Country.IsoCode != in.Regions[0].Code {
				t.Fatalf("seed %d %s: country %q, row's %q", seed, row.addr, a.Country.IsoCode, in.Regions[0].Code)
			}
			if len(in.Regions) >= 3 && depth >= 3 && a.City.GeonameID != in.Regions[2].GeonameID {
				t.Fatalf("seed %d %s: city %d, row's %d", seed, row.addr, a.City.GeonameID, in.Regions[2].GeonameID)
			}
			if len(in.Regions) >= 2 && depth >= 2 && (len(a.Subdivisions) == 0 || a.Subdivisions[0].Names["en"] != in.Regions[1].Name) {
				t.Fatalf("seed %d %s: subdivision %+v, row's %q", seed, row.addr, a.Subdivisions, in.Regions[1].Name)
			}
			if !in.HasLocation {
				if a.Location.Latitude != nil {
					t.Fatalf("seed %d %s: a location for a row without one", seed, row.addr)
				}
				continue
			}
			d := geo.Distance(in.Latitude, in.Longitude, *a.Location.Latitude, *a.Location.Longitude)
			if d > 0 {
				if a.Location.AccuracyRadius == nil || d > float64(*a.Location.AccuracyRadius) {
					t.Fatalf("seed %d %s: %.3f km from the answer, radius %v", seed, row.addr, d, a.Location.AccuracyRadius)
				}
				if policy.MaxMergeKm > 0 && d > policy.MaxMergeKm+1e-9 || d > st.Aggregate.MaxKm+1e-9 {
					t.Fatalf("seed %d %s: %.3f km, cap %v, reported max %v", seed, row.addr, d, policy.MaxMergeKm, st.Aggregate.MaxKm)
				}
			}
		}
		db.Close()
	}
}

func TestRangeCIDRs(t *testing.T) {
	var got []string
	from, to := toTree(netip.MustParsePrefix("10.0.0.1/32")).Addr(), toTree(netip.MustParsePrefix("10.0.0.6/32")).Addr()
	if err := rangeCIDRs(from, to, func(p netip.Prefix) error { got = append(got, fromTree(p).String()); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	a, b := netip.MustParseAddr("::1:ffff"), netip.MustParseAddr("::2:0")
	if n, ok := gapSize(a, b); !ok || n != 0 {
		t.Errorf("gap between adjacent = %d, %v", n, ok)
	}
	if n, ok := gapSize(netip.MustParseAddr("::ffff"), netip.MustParseAddr("::1:0100")); !ok || n != 256 {
		t.Errorf("gap = %d, %v, want 256", n, ok)
	}
	if _, ok := gapSize(netip.MustParseAddr("::"), netip.MustParseAddr("1::")); ok {
		t.Error("a gap beyond 64 bits fits")
	}
}

func TestParseAggregation(t *testing.T) {
	for in, want := range map[string]Aggregation{"exact": {}, "": {}, "region": {Level: "city"}, "region:province": {Level: "province"}} {
		if got, err := ParseAggregation(in); err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"region:", "regions", "exact:city"} {
		if _, err := ParseAggregation(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAggregateLevelNoneReach: a level no network's regions reach (a
// typo, or a level the data lacks) is an error naming it and the levels
// the data has, and no file is left; a level some reach is not.
func TestAggregateLevelNoneReach(t *testing.T) {
	rows := perAddressRows(rand.New(rand.NewPCG(3, 4)), 4, 2, 0.5, 1)
	for _, level := range []string{"cty", "community"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "agg.mmdb")
		_, err := CompileNetworks(networksOf(t, rows), path, Options{Aggregate: Aggregation{Level: level}})
		want := fmt.Sprintf(`has a region at level %q (levels in the data: country, province, city)`, level)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("region:%s: error %v, want one containing %s", level, err, want)
		}
		if names := testutil.DirNames(t, dir); len(names) != 0 {
			t.Errorf("region:%s: left %v behind", level, names)
		}
	}
	if _, st := compileRows(t, rows, Aggregation{Level: "country"}); st.Aggregate.NetworksIn != len(rows) {
		t.Errorf("region:country: NetworksIn %d, want %d", st.Aggregate.NetworksIn, len(rows))
	}
}
