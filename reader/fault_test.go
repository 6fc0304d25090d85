//go:build unix

package reader

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestOpenRefusesNonRegular: a FIFO (with no writer, so that opening it
// for reading blocks), a directory and a device are refused at once with
// ErrNotRegular, never blocking.
func TestOpenRefusesNonRegular(t *testing.T) {
	testutil.RefusesNonRegular(t, ErrNotRegular, func(path string) (*Reader, error) { return Open(path) })
}

// TestGuardTurnsFaultIntoError truncates a mapped database under a Reader:
// a lookup's decode then reads pages past the end of the file, which raises
// SIGBUS. Inside Guard that is a *FaultError; the process lives on.
func TestGuardTurnsFaultIntoError(t *testing.T) {
	src := testutil.ReadFile(t, testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb"))
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := netip.MustParseAddr("81.2.69.160")
	decode := func() error {
		var v any
		return r.Lookup(a).Decode(&v)
	}
	if err := Guard(decode); err != nil {
		t.Fatalf("before truncation: %v", err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	err = Guard(decode)
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Addr == 0 {
		t.Fatalf("after truncation: %v; want a *FaultError", err)
	}
	t.Logf("after truncation: %v", err)
	// Guard restores the goroutine's setting and passes other panics on.
	func() {
		defer func() {
			if p := recover(); p != "not a fault" {
				t.Errorf("recovered %v; want the panic passed on", p)
			}
		}()
		_ = Guard(func() error { panic("not a fault") })
	}()
}
