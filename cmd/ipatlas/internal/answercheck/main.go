// Command answercheck compares the answers of two MaxMind DB files with
// maxminddb-golang v2, an outside reader: for each address, found in both
// or in neither, and the same record, decoded into any and compared
// deeply (once per pair of records). It is the oracle of ipatlas's
// export/build round-trip tests, a program of its own so that the tests
// run it at full speed under the race detector, and a tool to check any
// rebuild by hand:
//
//	answercheck [-random4 N] [-random6 N] [-seed S] [-networks] [-skip CIDR]... A.mmdb B.mmdb
//
// Addresses: with -networks, the first and last address of every network
// of A (with data or not, aliases left out); with -random4/-random6, N
// addresses, half uniform (IPv6 from 2000::/3), half inside networks of
// A, from seed S. Addresses inside a -skip network are not compared; B
// must not answer them. Where the networks differ, B's must hold A's
// (B joined neighbours with equal records), else it is an error.
//
// It prints one JSON object with the counts (A's networks too) and, as
// type_sample, up to
// 64 addresses whose records it compared (for a check of the types with
// another reader), and exits 0; 1 at the first difference (said on
// standard error); 2 on bad arguments.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"

	"github.com/ipatlas/ipatlas/cmd/ipatlas/internal/answercheck/report"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// prefixList is a repeatable -skip flag.
type prefixList []netip.Prefix

func (l *prefixList) String() string { return fmt.Sprint(*l) }

func (l *prefixList) Set(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return err
	}
	*l = append(*l, p.Masked())
	return nil
}

func main() {
	fs := flag.NewFlagSet("answercheck", flag.ContinueOnError)
	random4 := fs.Int("random4", 0, "random IPv4 addresses to compare")
	random6 := fs.Int("random6", 0, "random IPv6 addresses to compare")
	seed := fs.Uint64("seed", 1, "seed of the random addresses")
	networks := fs.Bool("networks", false, "compare the first and last address of every network of A")
	var skip prefixList
	fs.Var(&skip, "skip", "a network not to compare (B must not answer there); repeatable")
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: answercheck [-random4 N] [-random6 N] [-seed S] [-networks] [-skip CIDR]... A.mmdb B.mmdb")
		os.Exit(2)
	}
	rep, err := check(fs.Arg(0), fs.Arg(1), *random4, *random6, *seed, *networks, skip)
	if err != nil {
		fmt.Fprintln(os.Stderr, "answercheck:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(rep)
}

func check(pathA, pathB string, n4, n6 int, seed uint64, networks bool, skip prefixList) (report.Report, error) {
	var rep report.Report
	a, err := maxminddb.Open(pathA)
	if err != nil {
		return rep, err
	}
	defer a.Close()
	b, err := maxminddb.Open(pathB)
	if err != nil {
		return rep, err
	}
	defer b.Close()

	var addrs []netip.Addr
	var nets4, nets6 []netip.Prefix
	for res := range a.Networks(maxminddb.IncludeNetworksWithoutData()) {
		if err := res.Err(); err != nil {
			return rep, fmt.Errorf("%s: %w", pathA, err)
		}
		p := res.Prefix()
		if networks {
			addrs = append(addrs, p.Addr(), lastAddr(p))
		}
		if !res.Found() {
			continue
		}
		if p.Addr().Is4() {
			nets4 = append(nets4, p)
		} else {
			nets6 = append(nets6, p)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range n4 {
		if i%2 == 0 || len(nets4) == 0 {
			addrs = append(addrs, randomIn(rng, netip.MustParsePrefix("0.0.0.0/0")))
		} else {
			addrs = append(addrs, randomIn(rng, nets4[rng.IntN(len(nets4))]))
		}
	}
	for i := range n6 {
		if i%2 == 0 || len(nets6) == 0 {
			addrs = append(addrs, randomIn(rng, netip.MustParsePrefix("2000::/3")))
		} else {
			addrs = append(addrs, randomIn(rng, nets6[rng.IntN(len(nets6))]))
		}
	}

	compared := map[[2]uintptr]bool{}
	for _, addr := range addrs {
		rep.Addresses++
		x, y := a.Lookup(addr), b.Lookup(addr)
		if x.Err() != nil || y.Err() != nil {
			return rep, fmt.Errorf("%s: lookup errors %v, %v", addr, x.Err(), y.Err())
		}
		if skipped(skip, addr) {
			rep.Skipped++
			if y.Found() {
				return rep, fmt.Errorf("%s: %s answers inside a skipped network", addr, pathB)
			}
			if x.Found() {
				rep.SkipFound++
			}
			continue
		}
		if x.Found() != y.Found() {
			return rep, fmt.Errorf("%s: found %v in %s, %v in %s", addr, x.Found(), pathA, y.Found(), pathB)
		}
		if !x.Found() {
			continue
		}
		rep.Found++
		if px, py := x.Prefix(), y.Prefix(); px != py {
			if py.Bits() > px.Bits() || !py.Contains(px.Addr()) {
				return rep, fmt.Errorf("%s: network %s in %s, %s in %s", addr, px, pathA, py, pathB)
			}
			rep.Wider++
		}
		key := [2]uintptr{x.Offset(), y.Offset()}
		if compared[key] {
			continue
		}
		compared[key] = true
		var va, vb any
		if err := x.Decode(&va); err != nil {
			return rep, fmt.Errorf("%s: %s: %w", addr, pathA, err)
		}
		if err := y.Decode(&vb); err != nil {
			return rep, fmt.Errorf("%s: %s: %w", addr, pathB, err)
		}
		if !reflect.DeepEqual(va, vb) {
			return rep, fmt.Errorf("%s: record\n%v\nin %s,\n%v\nin %s", addr, va, pathA, vb, pathB)
		}
		if len(rep.TypeSample) < 64 && rng.IntN(1+len(addrs)/256) == 0 {
			rep.TypeSample = append(rep.TypeSample, addr)
		}
	}
	rep.Pairs = len(compared)
	rep.Networks4, rep.Networks6 = len(nets4), len(nets6)
	return rep, nil
}

func skipped(skip prefixList, a netip.Addr) bool {
	for _, p := range skip {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// randomIn returns a random address inside p.
func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
