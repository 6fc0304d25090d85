package synth

import (
	"strings"
	"testing"
)

// TestPlaces: the pool of a seed is the same on every call (the
// invariant), 8 to 27 provinces per country and 5 to 44 cities per
// province, each within reach of its parent's point and in range.
func TestPlaces(t *testing.T) {
	provinces, cities := Places(7, 1)
	p2, c2 := Places(7, 1)
	if len(p2) != len(provinces) || len(c2) != len(cities) || p2[len(p2)-1] != provinces[len(provinces)-1] || c2[len(c2)-1] != cities[len(cities)-1] {
		t.Fatal("two pools of one seed differ")
	}
	perCountry := make([]int, len(Countries))
	for _, p := range provinces {
		perCountry[p.Parent]++
		c := Countries[p.Parent]
		if !strings.HasPrefix(p.Code, c.Code+"-") || len(p.Code) != 5 {
			t.Errorf("province code %q of %s", p.Code, c.Code)
		}
		if p.Lat < -89 || p.Lat > 89 || abs(p.Lat-c.Lat) > 5 {
			t.Errorf("province of %s at latitude %v (country %v)", c.Code, p.Lat, c.Lat)
		}
	}
	for i, n := range perCountry {
		if n < 8 || n > 27 {
			t.Errorf("%s has %d provinces, want 8 to 27", Countries[i].Code, n)
		}
	}
	perProvince := make([]int, len(provinces))
	for _, c := range cities {
		perProvince[c.Parent]++
		if c.Code != "" || c.Lat < -89.5 || c.Lat > 89.5 || c.Lon < -180 || c.Lon > 180 {
			t.Errorf("city %+v", c)
		}
	}
	for i, n := range perProvince {
		if n < 5 || n > 44 {
			t.Errorf("province %s has %d cities, want 5 to 44", provinces[i].Code, n)
		}
	}
}

func abs(x float64) float64 { return max(x, -x) }

// TestDepth: the shares of the depths over every remainder mod 100.
func TestDepth(t *testing.T) {
	var n [5]int
	for h := range uint64(100) {
		n[Depth(h)]++
	}
	if want := [5]int{0, 5, 10, 60, 25}; n != want {
		t.Errorf("depths %v, want %v", n, want)
	}
}

func TestCheckCounts(t *testing.T) {
	for _, c := range []struct {
		ipv4, max, ipv6 int
		what, err       string
	}{
		{0, 10, 0, "", ""},
		{10, 10, 1 << 30, "", ""},
		{11, 10, 0, "", "-ipv4-count 11: want 0 to 10"},
		{-1, 10, 0, " rows", "-ipv4-count -1: want 0 to 10 rows"},
		{0, 10, -1, "", "-ipv6 -1: want 0 to 1073741824"},
		{0, 10, 1<<30 + 1, "", "-ipv6 1073741825: want 0 to 1073741824"},
	} {
		got := ""
		if err := CheckCounts(c.ipv4, c.max, c.what, c.ipv6); err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("CheckCounts(%d, %d, %q, %d) = %q, want %q", c.ipv4, c.max, c.what, c.ipv6, got, c.err)
		}
	}
}
