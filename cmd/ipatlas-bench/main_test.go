package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/bench/workload"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// ipatlasBin is the ipatlas built once for the tests: the binary whose
// ingest and compile `build` times.
var ipatlasBin string

// TestMain runs the command's child processes too: the suite starts them
// as os.Executable() (here the test binary) with "child" first.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	bin, remove, err := testutil.BuildCommand("../ipatlas", "ipatlas")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ipatlasBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// runCLI runs the command in this process and returns its output and
// exit status.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var o, e strings.Builder
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// benchNet is a network of the small City database of the bench tests.
type benchNet struct {
	prefix  netip.Prefix
	country string // "" for a record without a country
}

// benchNetworks are the networks of the small City database: IPv4 and
// IPv6, some records without a country.
func benchNetworks() []benchNet {
	var nets []benchNet
	countries := []string{"DE", "FR", "", "JP", "BR"}
	// Each network in a /8 of its own: no overlaps.
	for i := range 40 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i*5), byte(i * 16), 0, 0}), 8+i%5).Masked()
		nets = append(nets, benchNet{p, countries[i%len(countries)]})
	}
	for i := range 20 {
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20 + byte(i), 0x80}), 8+i%3).Masked()
		nets = append(nets, benchNet{p, countries[(i+1)%len(countries)]})
	}
	return nets
}

// writeBenchDB writes the small City database with mmdbwriter (a writer
// independent of ipatlas).
func writeBenchDB(t *testing.T, path string) []benchNet {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IPVersion: 6, RecordSize: 28, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	nets := benchNetworks()
	for _, n := range nets {
		rec := mmdbtype.Map{
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Town " + n.prefix.String())}, "geoname_id": mmdbtype.Uint32(7)},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(1.5), "longitude": mmdbtype.Float64(2.5), "accuracy_radius": mmdbtype.Uint16(10)},
		}
		if n.country != "" {
			rec["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(n.country), "names": mmdbtype.Map{"en": mmdbtype.String("Land " + n.country)}}
		}
		bits := 32
		if n.prefix.Addr().Is6() {
			bits = 128
		}
		if err := tree.Insert(&net.IPNet{IP: n.prefix.Addr().AsSlice(), Mask: net.CIDRMask(n.prefix.Bits(), bits)}, rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return nets
}

// checkSVG fails unless path is a well-formed SVG document with some
// drawing in it.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	root, elements := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			elements++
		}
	}
	if root != "svg" || elements < 20 {
		t.Fatalf("%s: root <%s>, %d elements: not an SVG plot", path, root, elements)
	}
}

// TestBenchReadersShort runs `ipatlas-bench readers --short` on a small
// City database written by mmdbwriter and checks the report, the plots,
// and the answered counts against a brute-force oracle over the
// database's networks.
func TestBenchReadersShort(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "city.mmdb")
	nets := writeBenchDB(t, db)
	out := filepath.Join(dir, "report")
	_, stderr, code := runCLI("readers", "--short", "--db", db, "--out", out, "--addrs", "1024", "--count", "1", "--time", "2ms")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"ipatlas no-decode", "maxminddb-golang v2 no-decode", "maxminddb-golang v1 no-decode", "ipatlas Decode",
		"maxminddb-golang v2 Decode", "maxminddb-golang v1 Decode", "ipatlas typed (copy)", "ipatlas typed (shared)", "geoip2-golang v2 City"}
	for _, k := range workload.Kinds() {
		if !strings.Contains(string(md), "\n### "+string(k)+"\n") {
			t.Errorf("report.md has no section for workload %s", k)
		}
		for _, p := range []string{"latency-" + string(k) + ".svg", "throughput-" + string(k) + ".svg"} {
			checkSVG(t, filepath.Join(out, p))
			if !strings.Contains(string(md), "]("+p+")") {
				t.Errorf("report.md does not show %s", p)
			}
		}
	}
	for _, p := range paths {
		if n := strings.Count(string(md), "\n| "+p+" | "); n != len(workload.Kinds()) {
			t.Errorf("report.md has %d table rows for %s, want one per workload", n, p)
		}
	}
	for _, want := range []string{"### Summary", "| command | `ipatlas-bench readers --short", "| CPU |", "| Go | go", "load average", "### Open time and memory", "| maxminddb-golang v1 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md does not contain %q", want)
		}
	}

	// The answers, checked against the networks the database was written from.
	var res struct {
		Workloads []struct {
			Kind  string
			Paths []struct {
				Name, Group string
				Answered    int
				NsPerOp     struct{ Median float64 }
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "readers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	oracle := func(addrs []netip.Addr) (found, country int) {
		for _, a := range addrs {
			best := -1
			for i, n := range nets {
				if n.prefix.Contains(a) && (best < 0 || n.prefix.Bits() > nets[best].prefix.Bits()) {
					best = i
				}
			}
			if best >= 0 {
				found++
				if nets[best].country != "" {
					country++
				}
			}
		}
		return found, country
	}
	for _, w := range res.Workloads {
		var addrs []netip.Addr
		switch workload.Kind(w.Kind) {
		case workload.UniformIPv4:
			addrs = workload.Uniform4(1, 1024)
		case workload.UniformIPv6:
			addrs = workload.Uniform6(1, 1024)
		default:
			continue
		}
		found, country := oracle(addrs)
		if found == 0 || country == 0 {
			t.Fatalf("%s: the test database answers no address (found %d, with country %d)", w.Kind, found, country)
		}
		for _, p := range w.Paths {
			want := country
			if p.Group == "no-decode" {
				want = found
			}
			if p.Answered != want {
				t.Errorf("%s, %s: answered %d, the oracle says %d", w.Kind, p.Name, p.Answered, want)
			}
			if p.NsPerOp.Median <= 0 {
				t.Errorf("%s, %s: ns/op %v", w.Kind, p.Name, p.NsPerOp.Median)
			}
		}
	}
}

// TestBenchBuildShort runs `ipatlas-bench build --short` at a tiny scale:
// both builders' outputs must pass the check against the rows, and the
// report must show them with the plots.
func TestBenchBuildShort(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	_, stderr, code := runCLI("build", "--short", "--scale", "1024,2048", "--out", out, "--ipatlas", ipatlasBin)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Build", "| command | `ipatlas-bench build --short", "| 1024 | 1268 |", "| 2048 | 2536 |",
		"ipatlas ingest", "ipatlas compile", "**ipatlas total**", "**mmdbwriter**", "### Readers on the 2048-scale database"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md does not contain %q", want)
		}
	}
	// Two outputs per scale, each checked against the generated rows.
	if n := strings.Count(string(md), " | ok |"); n != 4 {
		t.Errorf("%d outputs passed the check, want 4 (ipatlas and mmdbwriter at two scales):\n%s", n, md)
	}
	if strings.Contains(string(md), "FAILED") {
		t.Errorf("a check failed:\n%s", md)
	}
	for _, p := range []string{"build-time.svg", "build-memory.svg"} {
		checkSVG(t, filepath.Join(out, p))
	}
	// The report renders again from the kept results.
	if _, stderr, code := runCLI("report", "--out", out); code != 0 {
		t.Fatalf("report: exit %d:\n%s", code, stderr)
	}
}

// TestBenchBuildNotIPAtlas: an --ipatlas that exits 0 without doing
// anything (a shell script here, /bin/true on the command line) gives a
// report that says FAILED and exit status 1; it exited 0 with timings of
// nothing.
func TestBenchBuildNotIPAtlas(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-ipatlas")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho not ipatlas\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run the fake ipatlas")
	}
	out := filepath.Join(dir, "report")
	_, stderr, code := runCLI("build", "--short", "--no-mmdbwriter", "--open-runs", "0", "--out", out, "--ipatlas", fake)
	if code != exitData || !strings.Contains(stderr, "1 outputs failed their check") || !strings.Contains(stderr, "scale 4096, ipatlas:") {
		t.Errorf("exit %d, want %d and the failed check named; stderr:\n%s", code, exitData, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "FAILED") {
		t.Errorf("report.md (%v) does not say FAILED:\n%s", err, md)
	}
}

func TestBenchUsage(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no subcommand", nil, exitUsage, "no subcommand"},
		{"unknown subcommand", []string{"frob"}, exitUsage, "unknown subcommand"},
		{"help", []string{"--help"}, 0, "Usage: ipatlas-bench readers|build|all|report"},
		{"readers help", []string{"readers", "--help"}, 0, "Usage: ipatlas-bench readers"},
		{"build help", []string{"build", "--help"}, 0, "mmdbwriter-timeout"},
		{"bad count", []string{"readers", "--count", "0", "--out", dir}, exitUsage, "ipatlas-bench readers: --count 0"},
		{"bad flag", []string{"readers", "--frob", "--out", dir}, exitUsage, "Run 'ipatlas-bench readers --help'"},
		{"bad scale", []string{"build", "--scale", "1.5", "--out", dir}, exitUsage, "--scale"},
		{"bad scale text", []string{"build", "--scale", "1/x", "--out", dir}, exitUsage, "--scale"},
		{"extra argument", []string{"readers", "--out", dir, "extra"}, exitUsage, "unexpected"},
		{"report extra argument", []string{"report", "--out", dir, "extra"}, exitUsage, "unexpected"},
		{"missing db", []string{"readers", "--db", filepath.Join(dir, "none.mmdb"), "--out", dir}, exitData, "none.mmdb"},
		{"not a db", []string{"readers", "--db", os.Args[0], "--out", dir}, exitData, ""},
		{"missing ipatlas", []string{"build", "--ipatlas", filepath.Join(dir, "none"), "--out", dir}, exitData, "--ipatlas"},
		{"ipatlas not executable", []string{"build", "--ipatlas", dir, "--out", dir}, exitData, "not an executable file"},
		{"nothing to report", []string{"report", "--out", t.TempDir()}, exitData, "no readers.json"},
		{"bad child mode", []string{"child", "frob"}, exitData, "unknown child mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr does not say %q:\n%s", c.stderr, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); !os.IsNotExist(err) {
		t.Errorf("a failed run left report.md behind (stat: %v)", err)
	}
}

// TestReportHelp: `report --help` lists only the flag that applies.
func TestReportHelp(t *testing.T) {
	_, help, code := runCLI("report", "--help")
	if code != 0 || !strings.Contains(help, "-out") {
		t.Fatalf("exit %d:\n%s", code, help)
	}
	for _, f := range []string{"-db", "-scale", "-short", "-count", "-mmdbwriter", "-ipatlas"} {
		if strings.Contains(help, f) {
			t.Errorf("report --help lists %s, which does not apply", f)
		}
	}
}

// TestFindIPAtlas checks where `build` finds the ipatlas it times: the
// --ipatlas binary; at the repository's root, one built from it (that
// answers --version); else the ipatlas beside the executable; else an
// error that says to give --ipatlas.
func TestFindIPAtlas(t *testing.T) {
	var log bytes.Buffer
	if got, cleanup, err := findIPAtlas(ipatlasBin, t.TempDir(), filepath.Join(t.TempDir(), "ipatlas-bench"), &log); err != nil || got != ipatlasBin {
		t.Errorf("--ipatlas %s: got %q, %v", ipatlasBin, got, err)
	} else {
		cleanup()
	}

	got, cleanup, err := findIPAtlas("", "../..", filepath.Join(t.TempDir(), "ipatlas-bench"), &log)
	if err != nil {
		t.Fatalf("at the repository's root: %v", err)
	}
	out, err := exec.Command(got, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "ipatlas ") {
		t.Errorf("the ipatlas built at the root: --version %q, %v", out, err)
	}
	cleanup()
	if _, err := os.Stat(got); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s behind (stat: %v)", got, err)
	}
	if !strings.Contains(log.String(), "building ./cmd/ipatlas") {
		t.Errorf("building was not said on stderr: %q", log.String())
	}

	// Elsewhere: the ipatlas beside the executable, or an error.
	bin := t.TempDir()
	exe := filepath.Join(bin, "ipatlas-bench")
	if _, _, err := findIPAtlas("", t.TempDir(), exe, &log); err == nil || !strings.Contains(err.Error(), "give --ipatlas") {
		t.Errorf("no ipatlas anywhere: err %v, want one that says to give --ipatlas", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ipatlas"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _, err := findIPAtlas("", t.TempDir(), exe, &log); err != nil || got != filepath.Join(bin, "ipatlas") {
		t.Errorf("beside the executable: got %q, %v", got, err)
	}
}
