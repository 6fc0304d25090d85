package kv

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// TestConcurrent runs ingests into several layers from several goroutines
// while another compacts the layers and another takes snapshots: every snapshot must show each layer as one
// whole committed file (all its rows, all from the same file) or empty.
func TestConcurrent(t *testing.T) {
	const (
		writers = 3
		files   = 6
		rows    = 300
	)
	s := openIn(t, t.TempDir(), Options{BatchSize: 512, maxTable: 2048, minRun: 8})
	for w := range writers {
		if _, err := s.EnsureLayer(fmt.Sprint("w", w), int32(w)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	report := func(err error) { // never blocks: the first 100 errors are enough
		select {
		case errs <- err:
		default:
		}
	}
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprint("w", w)
			for f := range files {
				in, err := s.BeginIngest(name, Mode(f%2), fmt.Sprint(name, "-", f))
				if err != nil {
					report(err)
					return
				}
				for i := range rows {
					j := i
					if f%3 == 2 {
						j = i * 7 % rows // unsorted: the batch path
					}
					p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(w), byte(j >> 8), byte(j)}), 32)
					if err := in.Put(p, fmt.Appendf(nil, "%s-%d", name, f)); err != nil {
						report(err)
						return
					}
				}
				if err := in.Commit(); err != nil {
					report(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var checker sync.WaitGroup
	checker.Go(func() { // compactions race the ingests
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := s.CompactLayer(fmt.Sprint("w", i%writers)); err != nil {
				report(err)
				return
			}
		}
	})
	checker.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			sn, err := s.Snapshot()
			if err != nil {
				report(err)
				return
			}
			count := map[string]int{}
			value := map[string]string{}
			for e, err := range sn.All() {
				if err != nil {
					report(err)
					break
				}
				count[e.Layer.Name]++
				if v, ok := value[e.Layer.Name]; ok && v != string(e.Value) {
					report(fmt.Errorf("snapshot mixes files %s and %s in layer %s", v, e.Value, e.Layer.Name))
				}
				value[e.Layer.Name] = string(e.Value)
			}
			sn.Close()
			for name, n := range count {
				if n != rows {
					report(fmt.Errorf("snapshot shows %d rows of layer %s, want 0 or %d", n, name, rows))
				}
			}
		}
	})
	wg.Wait()
	close(done)
	checker.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// In the end each layer holds its last file.
	got := map[string]int{}
	for _, e := range collect(t, mustSnapshot(t, s)) {
		if want := fmt.Sprintf("%s-%d", e.layer.Name, files-1); e.value != want {
			t.Fatalf("%v: value %q, want %q", e.prefix, e.value, want)
		}
		got[e.layer.Name]++
	}
	for w := range writers {
		if n := got[fmt.Sprint("w", w)]; n != rows {
			t.Fatalf("layer w%d has %d rows, want %d", w, n, rows)
		}
	}
}

func mustSnapshot(t *testing.T, s *Store) *Snapshot {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.Close() })
	return sn
}
