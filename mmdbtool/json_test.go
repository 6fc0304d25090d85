package mmdbtool

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/mmdbjson"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// slowRecordJSON is the obvious JSON of the record at off: decoded whole
// by format, written by format.
func slowRecordJSON(dec format.Decoder, off uint) ([]byte, error) {
	v, _, err := dec.Value(off)
	if err != nil {
		return nil, err
	}
	return mmdbjson.AppendJSON(nil, v), nil
}

// randomValue returns a random value of every kind, nested up to depth,
// drawing sub-values from shared so that an Encoder writes pointers.
func randomValue(rng *rand.Rand, depth int, shared []format.Value) format.Value {
	if len(shared) > 0 && rng.IntN(4) == 0 {
		return shared[rng.IntN(len(shared))]
	}
	k := rng.IntN(13)
	if depth <= 0 && k >= 10 {
		k = rng.IntN(10)
	}
	switch k {
	case 0:
		return format.String([]string{"", "Paris", "上海", `a "quoted" \ one`, "tab\there\nnewline\x01", "$type", "Москва"}[rng.IntN(7)])
	case 1:
		return format.Bool(rng.IntN(2) == 0)
	case 2:
		return format.Uint16(rng.Uint32())
	case 3:
		return format.Uint32(rng.Uint32())
	case 4:
		return format.Uint64([]uint64{0, 7, math.MaxUint32, math.MaxUint32 + 1, rng.Uint64()}[rng.IntN(5)])
	case 5:
		return format.Uint128{Hi: []uint64{0, rng.Uint64()}[rng.IntN(2)], Lo: rng.Uint64()}
	case 6:
		return format.Int32(int32(rng.Uint32()))
	case 7:
		return format.Float64([]float64{0, math.Copysign(0, -1), 5, 1.5, -2.25e-300, 1e21, math.NaN(), math.Inf(1), math.Inf(-1), rng.NormFloat64()}[rng.IntN(10)])
	case 8:
		return format.Float32([]float32{0, 5, 1.1, float32(math.Inf(-1)), float32(rng.NormFloat64())}[rng.IntN(5)])
	case 9:
		return format.Bytes([][]byte{{}, {0, 1, 2}, []byte("bytes")}[rng.IntN(3)])
	case 10, 11:
		m := format.Map{}
		for range rng.IntN(5) {
			key := []string{"a", "b", "names", "$type", "value", "zh-CN", "é", ""}[rng.IntN(8)]
			m[key] = randomValue(rng, depth-1, shared)
		}
		return m
	default:
		s := make(format.Slice, rng.IntN(4))
		for i := range s {
			s[i] = randomValue(rng, depth-1, shared)
		}
		return s
	}
}

// TestRecordJSONRandom checks the fast JSON of records against format's
// on random values written by format.Encoder, which shares repeated
// sub-values through pointers.
func TestRecordJSONRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	enc := format.NewEncoder()
	var shared []format.Value
	for range 40 {
		shared = append(shared, randomValue(rng, 3, shared))
	}
	var offs []uint32
	for range 2000 {
		v := randomValue(rng, 4, shared)
		off, err := enc.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	dec := format.NewDecoder(enc.Bytes())
	rj := newRecordJSON("random", dec)
	rj.frag.limit = 1 << 10 // small, so that the fragment memo is cleared often
	for _, off := range offs {
		want, err := slowRecordJSON(dec, uint(off))
		if err != nil {
			t.Fatal(err)
		}
		got, err := rj.appendRecord(nil, uint(off))
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("offset %d:\n got %s\nwant %s", off, got, want)
		}
	}
}

// TestRecordJSONRealFiles checks the fast JSON of every record of the
// conformance files and a sample of GeoLite2-City's (not under the race
// detector) against format's.
func TestRecordJSONRealFiles(t *testing.T) {
	files := testutil.ConformanceGlob(t, "test-data/*.mmdb")
	if !underRace {
		files = append(files, testutil.GeoLiteCity(t))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := openOrSkip(t, path)
			seen := map[uint]bool{}
			n := 0
			// GeoLite2-City's half a million records are checked in full
			// by the round trip (TestExportGeoLiteRoundTrip); here, a
			// sample.
			stride := 1
			if filepath.Base(path) == "GeoLite2-City.mmdb" {
				stride = 16
			}
			for nw, err := range f.Networks(AliasesAll) {
				if err != nil {
					t.Skipf("tree: %v", err)
				}
				off := nw.Offset
				if seen[off] {
					continue
				}
				seen[off] = true
				if len(seen)%stride != 0 {
					continue
				}
				want, werr := slowRecordJSON(f.t.Dec, off)
				got, gerr := f.AppendRecordJSON(nil, off)
				if (werr == nil) != (gerr == nil) {
					t.Errorf("offset %d: error %v, format's %v", off, gerr, werr)
				} else if werr == nil && !bytes.Equal(got, want) {
					t.Errorf("offset %d:\n got %s\nwant %s", off, got, want)
				}
				n++
			}
			t.Logf("%d records checked", n)
		})
	}
}

// TestNetworksMatchesPeer checks the networks and record offsets of
// File.Networks against maxminddb-golang v2's Networks, without aliases
// and with them (teredo: those inside 2001::/32 only).
func TestNetworksMatchesPeer(t *testing.T) {
	files := testutil.ConformanceGlob(t, "test-data/MaxMind-DB-test-*.mmdb")
	files = append(files, testutil.ConformanceGlob(t, "test-data/GeoIP2-City-Test.mmdb")...)
	teredo := netip.MustParsePrefix("2001::/32")
	type net struct {
		p   netip.Prefix
		off uintptr
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := openOrSkip(t, path)
			peer, err := maxminddb.Open(path)
			if err != nil {
				t.Skipf("maxminddb-golang cannot open it: %v", err)
			}
			defer peer.Close()
			for _, mode := range []Aliases{AliasesNone, AliasesTeredo, AliasesAll} {
				var want []net
				var opts []maxminddb.NetworksOption
				if mode != AliasesNone {
					opts = append(opts, maxminddb.IncludeAliasedNetworks())
				}
				inAlias := map[netip.Prefix]bool{}
				if mode == AliasesTeredo {
					for res := range peer.Networks() {
						inAlias[res.Prefix()] = true
					}
				}
				for res := range peer.Networks(opts...) {
					if res.Err() != nil {
						t.Skipf("maxminddb-golang: %v", res.Err())
					}
					p := res.Prefix()
					if mode == AliasesTeredo && !inAlias[p] && !teredo.Overlaps(p) {
						continue
					}
					want = append(want, net{p, res.Offset()})
				}
				var got []net
				for nw, err := range f.Networks(mode) {
					if err != nil {
						t.Fatalf("walk: %v", err)
					}
					got = append(got, net{nw.Prefix, uintptr(nw.Offset)})
				}
				if !slices.Equal(got, want) {
					t.Errorf("aliases %v: %d networks, maxminddb-golang %d\n got %v\nwant %v", mode, len(got), len(want), head(got, 8), head(want, 8))
				}
			}
		})
	}
}
