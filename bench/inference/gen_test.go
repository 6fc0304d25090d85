package inference

import (
	"context"
	"crypto/sha256"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/kv"
	"github.com/klauspost/compress/gzip"
)

// small is the Configuration of the quick tests.
var small = Config{Seed: 7, IPv4Count: 2048, IPv6: 500, Combos: 5000}

// generateSmall writes the small input into dir and returns the paths.
func generateSmall(t *testing.T, c Config, dir string) (csvPath, jsonPath string) {
	t.Helper()
	csvPath, jsonPath = filepath.Join(dir, "rows.csv.gz"), filepath.Join(dir, "rows.jsonl.gz")
	res, err := Generate(c, csvPath, jsonPath, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != c.Rows() || res.CSVBytes == 0 || res.JSONBytes == 0 {
		t.Fatalf("generate: %+v", res)
	}
	return csvPath, jsonPath
}

// gunzipHash returns the SHA-256 of the decompressed file at path.
func gunzipHash(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestGenerateDeterministic checks that the input depends on the seed
// only: the same seed gives the same rows, another seed other rows.
func TestGenerateDeterministic(t *testing.T) {
	hashes := func(c Config) [2][32]byte {
		csvPath, jsonPath := generateSmall(t, c, t.TempDir())
		return [2][32]byte{gunzipHash(t, csvPath), gunzipHash(t, jsonPath)}
	}
	a, b := hashes(small), hashes(small)
	if a != b {
		t.Fatal("seed 7 generated different files twice")
	}
	other := small
	other.Seed = 8
	if c := hashes(other); c[0] == a[0] || c[1] == a[1] {
		t.Fatal("seeds 7 and 8 generated the same file")
	}
}

// TestGenerateStreams checks that writing rows allocates nothing per row:
// ten times the rows, the same allocations.
func TestGenerateStreams(t *testing.T) {
	c := small
	tx := newTexts(c)
	allocs := func(c Config, write func(Config, io.Writer, *texts) error) float64 {
		return testing.AllocsPerRun(3, func() {
			if err := write(c, io.Discard, tx); err != nil {
				t.Fatal(err)
			}
		})
	}
	for name, write := range map[string]func(Config, io.Writer, *texts) error{
		"csv":   Config.writeCSV,
		"jsonl": Config.writeJSONL,
	} {
		for _, per := range []bool{false, true} {
			few := c
			few.IPv4Count, few.IPv6, few.PerAddress = 1000, 100, per
			many := few
			many.IPv4Count, many.IPv6 = 10000, 1000
			// Per-address rows memoize district names (at most 8 a
			// city): a few more names, far fewer than one per row.
			slack := 0.0
			if per {
				slack = float64(many.Rows()-few.Rows()) / 20
			}
			if a, b := allocs(few, write), allocs(many, write); b > a+slack {
				t.Errorf("%s (per-address %v): %v allocations for %d rows, %v for %d: memory grows with the rows", name, per, a, few.Rows(), b, many.Rows())
			}
		}
	}
}

// TestNetworksInOrder checks that the rows come in address order, IPv4
// first, with the IPv6 /48s inside 2000::/3 and outside 2002::/16.
func TestNetworksInOrder(t *testing.T) {
	c := Config{Seed: 3, IPv4Count: 1000, IPv6: 20000, Combos: 10}
	var last netip.Prefix
	n := 0
	sixToFour := netip.MustParsePrefix("2002::/16")
	global := netip.MustParsePrefix("2000::/3")
	err := c.eachRow(func(p netip.Prefix, k int) error {
		if n > 0 && (last.Addr().Is4() == p.Addr().Is4() && !last.Addr().Less(p.Addr()) || last.Addr().Is6() && p.Addr().Is4()) {
			t.Fatalf("row %d: %s after %s", n, p, last)
		}
		if p.Addr().Is6() && (!global.Contains(p.Addr()) || sixToFour.Overlaps(p) || p.Bits() != 48) {
			t.Fatalf("row %d: %s outside 2000::/3 less 2002::/16", n, p)
		}
		if k < 0 || k >= c.Combos {
			t.Fatalf("row %d: combination %d", n, k)
		}
		last = p
		n++
		return nil
	})
	if err != nil || n != c.Rows() {
		t.Fatalf("%d rows, err %v", n, err)
	}
}

// TestCheckCatchesWrongRows checks that check fails on a database built
// from other rows (another seed).
func TestCheckCatchesWrongRows(t *testing.T) {
	dir := t.TempDir()
	snap := ingestSmall(t, small, dir, kv.Options{}, kv.Upsert)
	mmdb := filepath.Join(dir, "out.mmdb")
	if _, err := compile.Compile(snap, mmdb, compile.Options{}); err != nil {
		t.Fatal(err)
	}
	db := testutil.OpenV2(t, mmdb)
	if _, err := checkLookups(small, db, 1000); err != nil {
		t.Fatalf("right seed: %v", err)
	}
	wrong := small
	wrong.Seed = 8
	if _, err := checkLookups(wrong, db, 1000); err == nil {
		t.Fatal("check passed with the wrong seed")
	}
}

// TestAddressRowsInOrder checks the per-address rows: strictly in address
// order, IPv4 /32s then IPv6 /64s, each /24 holding 64 rows, neighbours
// mostly in the same city, and the records distinct.
func TestAddressRowsInOrder(t *testing.T) {
	c := Config{Seed: 3, IPv4Count: 64 * 300, IPv6: 5000, PerAddress: true}
	p := newPool(c.Seed)
	var last netip.Prefix
	sameCity, distinct := 0, map[string]bool{}
	var lastCity *city
	for i := range c.Rows() {
		pre := c.addressPrefix(i)
		if want := 32; pre.Addr().Is6() {
			if want = 64; pre.Bits() != want {
				t.Fatalf("row %d: %s, want a /%d", i, pre, want)
			}
		} else if pre.Bits() != want {
			t.Fatalf("row %d: %s, want a /%d", i, pre, want)
		}
		if i > 0 && !(last.Addr().Is4() && pre.Addr().Is6()) && !last.Addr().Less(pre.Addr()) {
			t.Fatalf("row %d: %s after %s", i, pre, last)
		}
		cb := p.addressCombo(c, i)
		if cb.city != nil && cb.city == lastCity {
			sameCity++
		}
		lastCity = cb.city
		distinct[string(cb.appendCSVPrec(nil, 6))] = true
		last = pre
	}
	if sameCity < c.Rows()/2 {
		t.Errorf("%d of %d rows in the city of the row before: no locality", sameCity, c.Rows())
	}
	if len(distinct) < c.Rows()*999/1000 {
		t.Errorf("%d distinct records of %d rows", len(distinct), c.Rows())
	}
}

// ingestSmall generates c's CSV in dir, ingests it into a store there
// with mode, and returns a snapshot; the store and the snapshot are
// closed when the test ends.
func ingestSmall(t *testing.T, c Config, dir string, ko kv.Options, mode kv.Mode) *kv.Snapshot {
	t.Helper()
	csvPath, _ := generateSmall(t, c, dir)
	st, err := kv.Open(filepath.Join(dir, "db"), ko)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := builder.IngestFile(context.Background(), st, "bench", 0, mode, csvPath, builder.Options{}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	return snap
}
