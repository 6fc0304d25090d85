package reader

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestMappedReaderStaysAlive calls Verify, Lookup and Decode as the last use
// of a memory-mapped Reader while the collector runs continuously: a
// Reader that became unreachable inside such a call would have its file
// unmapped under it (a crash, not a failure).
func TestMappedReaderStaysAlive(t *testing.T) {
	path := testutil.GeoLiteCountry(t)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer func() { stop.Store(true); <-done }()
	verifyLast := func() error {
		r, err := Open(path, WithoutIndex())
		if err != nil {
			return err
		}
		return r.Verify()
	}
	if err := verifyLast(); err != nil {
		t.Fatal(err)
	}
	decodeLast := func(a netip.Addr) error {
		r, err := Open(path, WithoutIndex())
		if err != nil {
			return err
		}
		var v any
		return r.Lookup(a).Decode(&v)
	}
	for _, a := range []string{"81.2.69.160", "2a02:cf40::1", "8.8.8.8"} {
		if err := decodeLast(netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
	}
}
