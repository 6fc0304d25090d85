package compile

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/format"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/kv"
)

// entries is a synthetic store scan of n networks whose values repeat in
// runs (as adjacent networks of real data do), ending with err if set.
// The value buffer is reused between steps, as kv's is.
func entries(n int, err error) iter.Seq2[kv.Entry, error] {
	return func(yield func(kv.Entry, error) bool) {
		buf := make([]byte, 0, 64)
		for i := range n {
			buf = fmt.Appendf(buf[:0], "record %d", i/3)
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			e := kv.Entry{Prefix: netip.PrefixFrom(a, 32), Layer: kv.Layer{ID: uint32(i % 2), Priority: int32(i % 5)}, Value: buf}
			if !yield(e, nil) {
				return
			}
			buf[0] = 'X' // the value is valid until the next step only
		}
		if err != nil {
			yield(kv.Entry{}, err)
		}
	}
}

// TestReadAhead checks that readAhead yields what the scan yields, in
// order, across batches; passes on the scan's error; and stops the scan
// when the consumer stops early.
func TestReadAhead(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		n     int
		err   error
		stop  int // stop after this many networks; 0 reads all
		wantN int
	}{
		{"empty", 0, nil, 0, 0},
		{"one batch", 10, nil, 0, 10},
		{"several batches", 3*scanBatchSize + 7, nil, 0, 3*scanBatchSize + 7},
		{"error after a batch", scanBatchSize + 1, boom, 0, scanBatchSize + 1},
		{"stop early", 5 * scanBatchSize, nil, scanBatchSize + 3, scanBatchSize + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for e, err := range entries(tt.n, nil) {
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, fmt.Sprintf("%s %d %d %s", e.Prefix, e.Layer.Priority, e.Layer.ID, e.Value))
			}
			var got []string
			var gotErr error
			for n, err := range readAhead(entries(tt.n, tt.err)) {
				if err != nil {
					gotErr = err
					break
				}
				got = append(got, fmt.Sprintf("%s %d %d %s", n.Prefix, n.Priority, n.Layer, n.Value))
				if len(got) == tt.stop {
					break
				}
			}
			if len(got) != tt.wantN {
				t.Fatalf("%d networks, want %d", len(got), tt.wantN)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("network %d = %q, want %q", i, got[i], want[i])
				}
			}
			if tt.stop == 0 && !errors.Is(gotErr, tt.err) {
				t.Fatalf("error %v, want %v", gotErr, tt.err)
			}
		})
	}
}

// TestReadAheadValuesStable checks that each value is the one scanned,
// though the scan reuses its buffer once it takes its next step.
func TestReadAheadValuesStable(t *testing.T) {
	i := 0
	for n, err := range readAhead(entries(2*scanBatchSize+5, nil)) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Appendf(nil, "record %d", i/3); !bytes.Equal(n.Value, want) {
			t.Fatalf("network %d: value %q, want %q", i, n.Value, want)
		}
		i++
	}
	if i != 2*scanBatchSize+5 {
		t.Fatalf("%d networks", i)
	}
}

// TestCompileRecordsMatchBytes compiles a store whose records sit in its
// dictionaries (entries with a Record) two ways: as Compile does, and
// with the Records dropped and every value copied, the path that hashes
// each record's bytes. The two files must be byte for byte the same.
func TestCompileRecordsMatchBytes(t *testing.T) {
	st, err := kv.Open(t.TempDir(), kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for li, layer := range []string{"low", "high"} {
		if _, err := st.EnsureLayer(layer, int32(li)); err != nil {
			t.Fatal(err)
		}
		in, err := st.BeginIngest(layer, kv.Replace, "")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3000 {
			bits := 24
			if li == 1 {
				bits = 26 // more specific networks over the low layer
				if i%3 != 0 {
					continue
				}
			}
			a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
			v := record(t, uint32(i/40+li*1000), 0.5)
			if err := in.Put(netip.PrefixFrom(a, bits), v); err != nil {
				t.Fatal(err)
			}
		}
		if err := in.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	dir := t.TempDir()
	opts := Options{WriterOptions: format.WriterOptions{BuildTime: time.Unix(1e9, 0)}}
	withRecords := filepath.Join(dir, "records.mmdb")
	s1, err := Compile(snap, withRecords, opts)
	if err != nil {
		t.Fatal(err)
	}
	sawRecord := false
	plain := filepath.Join(dir, "plain.mmdb")
	s2, err := CompileNetworks(func(yield func(Network, error) bool) {
		for e, err := range snap.All() {
			sawRecord = sawRecord || e.Record != 0
			n := Network{Prefix: e.Prefix, Priority: e.Layer.Priority, Layer: e.Layer.ID, Value: bytes.Clone(e.Value)}
			if !yield(n, err) {
				return
			}
		}
	}, plain, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !sawRecord {
		t.Fatal("no entry had a Record: the test does not test what it says")
	}
	if s1 != s2 {
		t.Fatalf("stats %+v with records, %+v without", s1, s2)
	}
	a := testutil.ReadFile(t, withRecords)
	b := testutil.ReadFile(t, plain)
	if !bytes.Equal(a, b) {
		t.Fatalf("the files differ (%d and %d bytes)", len(a), len(b))
	}
}

// TestRecordIDs checks recordIDs against a map: a record found gives the
// id last put for it, never another record's; records of several
// dictionaries that collide push each other out.
func TestRecordIDs(t *testing.T) {
	ids := newRecordIDs()
	want := map[uint64]format.RecordID{}
	found := 0
	for i := range 20000 {
		r := uint64(1+i/5000%3)<<32 | uint64((i*7919)%1700)
		if id, ok := ids.get(r); ok {
			found++
			if id != want[r] {
				t.Fatalf("get(%x) = %d, want %d", r, id, want[r])
			}
		}
		ids.put(r, format.RecordID(i))
		want[r] = format.RecordID(i)
	}
	if found == 0 {
		t.Fatal("no record found again: the test does not test what it says")
	}
	if _, ok := ids.get(9<<32 | 5); ok {
		t.Fatal("a record never put was found")
	}
}
