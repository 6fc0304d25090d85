package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/servetest"
	"github.com/ipatlas/ipatlas/internal/testutil"

	"github.com/ipatlas/ipatlas/format"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	dto "github.com/prometheus/client_model/go"
)

// country is one network of a test database: a GeoIP2-style record with
// a country and a location.
type country struct {
	network  string
	name     string
	iso      string
	lat, lon float64
}

// The test databases: the answer for 1.2.3.4 tells which one is served.
var (
	countriesA = []country{{"1.2.3.0/24", "China", "CN", 31.2, 121.4}, {"5.6.0.0/16", "France", "FR", 48.9, 2.3}, {"2001:db8::/32", "Germany", "DE", 52.5, 13.4}}
	countriesB = []country{{"1.2.3.0/24", "United States", "US", 37.8, -122.4}, {"5.6.0.0/16", "France", "FR", 48.9, 2.3}}
	countriesC = []country{{"1.2.3.0/24", "Japan", "JP", 35.7, 139.7}}
)

// testBuildTime is the build_epoch of every test database: two files of
// records of the same sizes have the same size.
var testBuildTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// writeDB writes dir/name holding rows (an IPv6 tree with the IPv4
// aliases, or IPv4 only) and returns its path.
func writeDB(t testing.TB, dir, name string, ipVersion int, rows []country) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := format.Create(path, format.WriterOptions{IPVersion: ipVersion, BuildTime: testBuildTime, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range rows {
		rec := format.Map{
			"country":  format.Map{"iso_code": format.String(c.iso), "names": format.Map{"en": format.String(c.name)}},
			"location": format.Map{"latitude": format.Float64(c.lat), "longitude": format.Float64(c.lon)},
		}
		if err := w.InsertValue(netip.MustParsePrefix(c.network), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// testServer is a Server in an httptest server.
type testServer struct {
	*Server
	http *httptest.Server
	log  *servetest.LockedBuffer
	base string
}

// startServer makes a Server of opts (a text logger into a buffer unless
// opts has one) and serves it with httptest; both are closed with the
// test.
func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	ts := &testServer{log: &servetest.LockedBuffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(ts.log, nil))
	}
	s := newServer(t, opts)
	ts.Server = s
	ts.http = httptest.NewServer(s)
	ts.base = ts.http.URL
	t.Cleanup(ts.http.Close) // before the Server's cleanup: last in, first run
	return ts
}

// newServer makes a Server of opts, closed with the test.
func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// watch runs Watch until the test ends.
func (ts *testServer) watch(t testing.TB, poll time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ts.Watch(ctx, poll); close(done) }()
	t.Cleanup(func() { cancel(); <-done; ts.loader.attempts.Wait() })
}

func (ts *testServer) do(t testing.TB, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	return servetest.Do(t, ts.base, method, path, body)
}

// status returns the status code and the decoded JSON body of GET path.
func (ts *testServer) status(t testing.TB, path string) (int, map[string]any) {
	t.Helper()
	return servetest.Status(t, ts.base, path)
}

// country returns the ISO code of the country ts answers for ip.
func (ts *testServer) country(t testing.TB, ip string) string {
	t.Helper()
	return servetest.Country(t, ts.base, ip)
}

// metrics scrapes /metrics and parses it with Prometheus's own parser.
func (ts *testServer) metrics(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	return servetest.Scrape(t, ts.base)
}

func (ts *testServer) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	return servetest.MetricValue(ts.metrics(t), name, labels...)
}

// probeAddrs returns seeded random addresses spread over the address
// space where GeoLite2 has data, plus edge cases.
func probeAddrs(n4, n6 int) []netip.Addr {
	rng := rand.New(rand.NewPCG(5, 5))
	var addrs []netip.Addr
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "10.1.2.3", "8.8.8.8", "1.1.1.1", "::", "::1",
		"::ffff:8.8.8.8", "2002:808:808::1", "2001:4860:4860::8888", "fe80::1"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	for range n4 {
		v := rng.Uint32()
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	for range n6 {
		var b [16]byte
		hi, lo := rng.Uint64()>>3|1<<61, rng.Uint64()
		for j := range 8 {
			b[j], b[8+j] = byte(hi>>(56-8*j)), byte(lo>>(56-8*j))
		}
		addrs = append(addrs, netip.AddrFrom16(b))
	}
	return addrs
}

// peerAnswer is maxminddb-golang v2's answer for a, in the form the
// service answers (record decoded by the peer, then through JSON).
func peerAnswer(t testing.TB, db *maxminddb.Reader, a netip.Addr) servetest.Answer {
	t.Helper()
	res := db.Lookup(a)
	if err := res.Err(); err != nil {
		t.Fatalf("maxminddb-golang: %s: %v", a, err)
	}
	ans := servetest.Answer{IP: a.String(), Network: res.Prefix().String(), Found: res.Found()}
	if res.Found() {
		var v any
		if err := res.Decode(&v); err != nil {
			t.Fatalf("maxminddb-golang: %s: %v", a, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		servetest.DecodeJSON(t, b, &ans.Record)
	}
	return ans
}

func openPeer(t testing.TB, path string) *maxminddb.Reader {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// corruptions are replacement files the service must refuse, each
// checked to be bad for an independent reader (maxminddb-golang v2): it
// fails to open it, or to look up or decode 1.2.3.4 in it, or to verify
// it.
func corruptions(t testing.TB, good []byte) []struct {
	name string
	data []byte
} {
	t.Helper()
	peer, err := maxminddb.OpenBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	treeSize := int(peer.Metadata.NodeCount * peer.Metadata.RecordSize / 4)
	meta := bytes.LastIndex(good, []byte("\xAB\xCD\xEFMaxMind.com"))
	if meta < treeSize+16 {
		t.Fatalf("cannot find the data section (tree %d bytes, metadata at %d)", treeSize, meta)
	}
	fill := func(lo, hi int) []byte {
		b := bytes.Clone(good)
		for i := lo; i < hi; i++ {
			b[i] = 0xFF
		}
		return b
	}
	garbage := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	cs := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", garbage},
		{"truncated", good[:len(good)/2]},
		{"scrambled tree", fill(0, treeSize)},
		{"scrambled data section", fill(treeSize+16, meta)},
	}
	for _, c := range cs {
		if !peerRejects(c.data) {
			t.Fatalf("maxminddb-golang v2 accepts the %s file: not a corruption", c.name)
		}
	}
	return cs
}

func peerRejects(data []byte) bool {
	db, err := maxminddb.OpenBytes(data)
	if err != nil {
		return true
	}
	var v any
	return db.Lookup(netip.MustParseAddr("1.2.3.4")).Decode(&v) != nil || db.Verify() != nil
}

// servedAB writes databases a (countriesA) and b (countriesB), puts a at
// served.mmdb in a directory of its own and starts a Server of it with
// opts (Path set here).
func servedAB(t testing.TB, opts Options) (p *testServer, served string, a, b []byte) {
	t.Helper()
	dir := t.TempDir()
	a = testutil.ReadFile(t, writeDB(t, dir, "a.mmdb", 6, countriesA))
	b = testutil.ReadFile(t, writeDB(t, dir, "b.mmdb", 6, countriesB))
	served = filepath.Join(dir, "served.mmdb")
	servetest.RenameOver(t, served, a)
	opts.Path = served
	return startServer(t, opts), served, a, b
}
