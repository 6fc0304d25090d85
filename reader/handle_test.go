package reader

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestHotReload runs lookups and decodes from several goroutines while
// the Handle flips between two databases and the garbage collector unmaps
// the readers swapped out. Every answer must be the complete answer of one
// of the two files: never an error, never a mix. Run with -race.
func TestHotReload(t *testing.T) {
	files := []string{
		testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb"),
		testutil.Conformance(t, "test-data", "GeoLite2-City-Test.mmdb"),
	}
	// The expected answer per file and address, from a plain reader.
	var addrs []netip.Addr
	want := make([]map[netip.Addr]string, len(files))
	answer := func(r Result) string {
		var v any
		if err := r.Decode(&v); err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%v %v %v", r.Found(), r.Prefix(), v)
	}
	for i, f := range files {
		r, err := Open(f, WithoutIndex())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for n := range r.Networks() {
				addrs = append(addrs, n.Prefix().Addr())
			}
		}
		want[i] = map[netip.Addr]string{}
		for _, a := range addrs {
			want[i][a] = answer(r.Lookup(a))
		}
		r.Close()
	}
	differ := 0
	for _, a := range addrs {
		if want[0][a] != want[1][a] {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the two files answer alike: the test would not see a torn reload")
	}

	h, err := OpenHandle(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := g; !stop.Load(); i++ {
				a := addrs[i%len(addrs)]
				got := answer(h.Lookup(a))
				if got != want[0][a] && got != want[1][a] {
					t.Errorf("%s: %s\nwant one of\n%s\n%s", a, got, want[0][a], want[1][a])
					stop.Store(true)
				}
				lookups.Add(1)
			}
		})
	}
	for i := range 60 {
		if err := h.Reload(files[(i+1)%2]); err != nil {
			t.Fatal(err)
		}
		runtime.GC() // lets the cleanups unmap readers no one uses
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
	if err := h.Reload(testutil.Conformance(t, "bad-data", "maxminddb-golang", "cyclic-data-structure.mmdb")); err == nil {
		t.Fatal("reloading a bad file succeeded")
	}
	if r := h.Lookup(addrs[0]); r.Err() != nil {
		t.Fatalf("after a failed reload: %v", r.Err())
	}
}
