package kv

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var (
	flagSeed  = flag.Uint64("kv.seed", 0, "seed of TestModel (0: from the clock)")
	flagSteps = flag.Int("kv.steps", 0, "steps per seed of TestModel (0: default)")
)

// modelEntry is one expected (or observed) entry of Snapshot.All.
type modelEntry struct {
	prefix netip.Prefix
	layer  Layer
	value  string
}

func (e modelEntry) String() string {
	return fmt.Sprintf("%v %s(id %d, prio %d)=%q", e.prefix, e.layer.Name, e.layer.ID, e.layer.Priority, e.value)
}

// modelLayer is the model of one layer: a plain map of its live networks.
type modelLayer struct {
	Layer
	rows    map[netip.Prefix]string
	sources []string // sourceIDs of its published ingests, oldest first
	gens    int      // generations the store should hold for it
}

// model is the oracle: the store as a map of layers, each a map of networks.
type model struct {
	layers map[string]*modelLayer
}

// treeAddr places an address in the IPv6 tree's space, written out without
// the package's key code: IPv4 a.b.c.d is ::a.b.c.d, its /n is /(96+n).
func treeAddr(p netip.Prefix) (netip.Addr, int) {
	if p.Addr().Is4() {
		var b [16]byte
		v4 := p.Addr().As4()
		copy(b[12:], v4[:])
		return netip.AddrFrom16(b), p.Bits() + 96
	}
	return p.Addr(), p.Bits()
}

// compareEntries is the order All promises, written out plainly.
func compareEntries(a, b modelEntry) int {
	aa, ab := treeAddr(a.prefix)
	ba, bb := treeAddr(b.prefix)
	return cmp.Or(aa.Compare(ba), cmp.Compare(ab, bb),
		-cmp.Compare(a.layer.Priority, b.layer.Priority), cmp.Compare(a.layer.ID, b.layer.ID))
}

// entries returns what All should yield for the model.
func (m *model) entries() []modelEntry {
	var out []modelEntry
	for _, l := range m.layers {
		for p, v := range l.rows {
			out = append(out, modelEntry{prefix: p, layer: l.Layer, value: v})
		}
	}
	slices.SortFunc(out, compareEntries)
	return out
}

// layerList returns what Layers should return for the model.
func (m *model) layerList() []Layer {
	var out []Layer
	for _, l := range m.layers {
		out = append(out, l.Layer)
	}
	slices.SortFunc(out, func(a, b Layer) int {
		return cmp.Or(-cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// collect reads everything a snapshot's All yields.
func collect(t *testing.T, sn *Snapshot) []modelEntry {
	t.Helper()
	var out []modelEntry
	for e, err := range sn.All() {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		out = append(out, modelEntry{prefix: e.Prefix, layer: e.Layer, value: string(e.Value)})
	}
	return out
}

// diffEntries describes how got differs from want, or returns "".
func diffEntries(got, want []modelEntry) string {
	if slices.Equal(got, want) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "got %d entries, want %d\n", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%3d got %-50s want %s\n", mark, i, g, w)
	}
	return b.String()
}

// checkState compares a fresh snapshot and Layers with the model.
func checkState(t *testing.T, s *Store, m *model) {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer sn.Close()
	if d := diffEntries(collect(t, sn), m.entries()); d != "" {
		t.Fatalf("All differs from the model:\n%s", d)
	}
	layers, err := s.Layers()
	if err != nil {
		t.Fatalf("Layers: %v", err)
	}
	if want := m.layerList(); !slices.Equal(layers, want) {
		t.Fatalf("Layers = %v, want %v", layers, want)
	}
	if got := sn.Layers(); !slices.Equal(got, m.layerList()) {
		t.Fatalf("Snapshot.Layers = %v, want %v", got, m.layerList())
	}
}

// checkNoGarbage asserts invariant 4: the data key space holds rows of
// published generations only, and no ingest's temporary table is left.
func checkNoGarbage(t *testing.T, s *Store) {
	t.Helper()
	if left, err := s.fs.List(s.tmpDir); err != nil || len(left) != 0 {
		t.Fatalf("after Open, temporary tables %v left in %s (%v)", left, s.tmpDir, err)
	}
	published := map[[2]uint32]bool{}
	for _, m := range s.layers {
		for _, g := range m.gens {
			published[[2]uint32{m.ID, g.gen}] = true
		}
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if k[0] != tagData {
			continue
		}
		layer, gen, _, err := parseDataKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !published[[2]uint32{layer, gen}] {
			t.Fatalf("after Open, row %x of unpublished generation %d of layer %d", k, gen, layer)
		}
		if gen >= s.nextGen {
			t.Fatalf("row %x has generation %d >= nextGen %d", k, gen, s.nextGen)
		}
	}
}

// pending is a write of an open ingest in the model: last write wins.
type pending struct {
	value string
	del   bool
}

type modelIngest struct {
	in     *Ingest
	layer  Layer
	mode   Mode
	writes map[netip.Prefix]pending
}

type modelSnap struct {
	sn   *Snapshot
	want []modelEntry
}

// prefixPool returns the networks the model test writes: nested, adjacent,
// IPv4 and IPv6, around the edges of the IPv4 space inside ::/96.
func prefixPool(r *rand.Rand) []netip.Prefix {
	var pool []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/0", "0.0.0.0/32", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.1.0/24",
		"1.2.3.4/32", "255.255.255.0/24", "255.255.255.255/32",
		"::/0", "::/64", "::/95", "::1:0:0/96", "2001:db8::/32", "2001:db8::/48", "2001:db8::1/128", "ffff::/16",
	} {
		pool = append(pool, netip.MustParsePrefix(s))
	}
	for range 12 {
		v4 := netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		pool = append(pool, netip.PrefixFrom(v4, 8+r.IntN(25)).Masked())
		var b [16]byte
		b[0], b[1], b[2] = 0x20, 0x01, byte(r.IntN(3))
		for i := 3; i < 16; i++ {
			b[i] = byte(r.IntN(256))
		}
		pool = append(pool, netip.PrefixFrom(netip.AddrFrom16(b), 16+r.IntN(113)).Masked())
	}
	return pool
}

// TestModel runs random sequences of store operations, including crashes
// that lose unsynced writes, against the model and checks All, Layers and
// every open snapshot after each step. Replay a failure with -kv.seed.
func TestModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, uint64(time.Now().UnixNano())}
	if *flagSeed != 0 {
		seeds = []uint64{*flagSeed}
	}
	steps := 1500
	if testing.Short() {
		steps = 300
	}
	if *flagSteps > 0 {
		steps = *flagSteps
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d (replay: go test ./kv -run 'TestModel' -kv.seed %d)", seed, seed)
			runModel(t, seed, steps)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fs := vfs.NewCrashableMem()
	// Small batches, tables and runs, so that ingests flush batches, rotate
	// tables and switch from tables to batches within a few rows.
	opts := Options{BatchSize: 1 + r.IntN(300), CacheSize: 1 << 20, MemTableSize: 256 << 10, fs: fs,
		minRun: 1 + r.IntN(6), maxTable: 1 + r.IntN(1000)}
	t.Logf("options: batch %d bytes, tables up to %d bytes, runs of %d rows", opts.BatchSize, opts.maxTable, opts.minRun)
	open := func() *Store {
		s, err := Open("db", opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		checkNoGarbage(t, s)
		return s
	}
	s := open()
	defer func() { s.Close() }()

	m := &model{layers: map[string]*modelLayer{}}
	pool := prefixPool(r)
	names := []string{"a", "b", "c", "d"}
	sources := []string{"", "s1", "s2"}
	seenIDs := map[uint32]bool{}
	var ingests []*modelIngest
	var snaps []*modelSnap
	closeSnaps := func() {
		for _, ms := range snaps {
			if d := diffEntries(collect(t, ms.sn), ms.want); d != "" {
				t.Fatalf("snapshot changed:\n%s", d)
			}
			if err := ms.sn.Close(); err != nil {
				t.Fatal(err)
			}
		}
		snaps = nil
	}
	defer closeSnaps()
	// takeIngest removes a random in-flight ingest and returns it.
	takeIngest := func() *modelIngest {
		i := r.IntN(len(ingests))
		mi := ingests[i]
		ingests = slices.Delete(ingests, i, i+1)
		return mi
	}

	for step := range steps {
		// refused checks the error of call: want if the model refuses it
		// (refuse), else none; it reports whether the call was refused.
		refused := func(call string, err error, refuse bool, want error) bool {
			if refuse {
				if !errors.Is(err, want) {
					t.Fatalf("step %d: %s: %v, want %v", step, call, err, want)
				}
				return true
			}
			if err != nil {
				t.Fatalf("step %d: %s: %v", step, call, err)
			}
			return false
		}
		var op string
		switch x := r.IntN(100); {
		case x < 8:
			op = "ensure"
			name, prio := names[r.IntN(len(names))], int32(r.IntN(5)-2)
			l, err := s.EnsureLayer(name, prio)
			if err != nil {
				t.Fatalf("step %d: EnsureLayer(%q, %d): %v", step, name, prio, err)
			}
			if ml := m.layers[name]; ml != nil {
				if l.ID != ml.ID {
					t.Fatalf("step %d: EnsureLayer(%q) changed the ID from %d to %d", step, name, ml.ID, l.ID)
				}
				ml.Priority = prio
			} else {
				if seenIDs[l.ID] {
					t.Fatalf("step %d: EnsureLayer(%q) reused ID %d", step, name, l.ID)
				}
				seenIDs[l.ID] = true
				m.layers[name] = &modelLayer{Layer: l, rows: map[netip.Prefix]string{}}
			}
			if want := (Layer{ID: l.ID, Name: name, Priority: prio}); l != want {
				t.Fatalf("step %d: EnsureLayer = %+v, want %+v", step, l, want)
			}
		case x < 18:
			op = "begin"
			if len(ingests) >= 3 {
				continue
			}
			name, mode, src := names[r.IntN(len(names))], Mode(r.IntN(2)), sources[r.IntN(len(sources))]
			in, err := s.BeginIngest(name, mode, src)
			ml := m.layers[name]
			switch {
			case ml == nil:
				if !errors.Is(err, ErrNoLayer) {
					t.Fatalf("step %d: BeginIngest into missing %q: %v, want ErrNoLayer", step, name, err)
				}
			case src != "" && len(ml.sources) > 0 && ml.sources[len(ml.sources)-1] == src && (mode == Upsert || len(ml.sources) == 1):
				if !errors.Is(err, ErrAlreadyIngested) {
					t.Fatalf("step %d: BeginIngest(%q, %v, %q) with sources %q: %v, want ErrAlreadyIngested", step, name, mode, src, ml.sources, err)
				}
			case err != nil:
				t.Fatalf("step %d: BeginIngest(%q, %v, %q) with sources %q: %v", step, name, mode, src, ml.sources, err)
			default:
				if in.Layer() != ml.Layer {
					t.Fatalf("step %d: Ingest.Layer = %+v, want %+v", step, in.Layer(), ml.Layer)
				}
				ingests = append(ingests, &modelIngest{in: in, layer: ml.Layer, mode: mode, writes: map[netip.Prefix]pending{}})
			}
		case x < 58:
			op = "write"
			if len(ingests) == 0 {
				continue
			}
			mi := ingests[r.IntN(len(ingests))]
			for range 1 + r.IntN(8) {
				p := pool[r.IntN(len(pool))]
				if r.IntN(5) == 0 {
					if err := mi.in.Delete(p); err != nil {
						t.Fatalf("step %d: Delete(%v): %v", step, p, err)
					}
					mi.writes[p] = pending{del: true}
					continue
				}
				v := fmt.Sprintf("v%d", r.IntN(1000))
				switch r.IntN(4) {
				case 0:
					v = "" // an empty record is a record, not a tombstone
				case 1:
					// Long enough for the dictionary, and repeated.
					v = fmt.Sprintf("a longer record %d", r.IntN(30))
				}
				if err := mi.in.Put(p, []byte(v)); err != nil {
					t.Fatalf("step %d: Put(%v): %v", step, p, err)
				}
				mi.writes[p] = pending{value: v}
			}
			if r.IntN(3) == 0 {
				// Get sees this ingest's own last write of p, nothing else.
				p := pool[r.IntN(len(pool))]
				v, ok, err := mi.in.Get(p)
				w, written := mi.writes[p]
				ml := m.layers[mi.layer.Name]
				dropped := ml == nil || ml.ID != mi.layer.ID
				// DropLayer deletes in-flight rows: Get may say so.
				droppedErr := dropped && errors.Is(err, ErrLayerDropped)
				if !droppedErr && (err != nil || ok != (written && !w.del) || (ok && string(v) != w.value)) {
					t.Fatalf("step %d: Get(%v) = %q, %v, %v; want the pending write %+v (written %v)", step, p, v, ok, err, w, written)
				}
			}
			if r.IntN(20) == 0 {
				bad := netip.MustParsePrefix("::ffff:10.0.0.0/104")
				if err := mi.in.Put(bad, nil); err == nil {
					t.Fatalf("step %d: Put(%v) succeeded", step, bad)
				}
			}
		case x < 70:
			op = "commit"
			if len(ingests) == 0 {
				continue
			}
			mi := takeIngest()
			err := mi.in.Commit()
			ml := m.layers[mi.layer.Name]
			if refused(fmt.Sprintf("Commit into %q", mi.layer.Name), err, ml == nil || ml.ID != mi.layer.ID, ErrLayerDropped) {
				break
			}
			if mi.mode == Replace {
				ml.rows = map[netip.Prefix]string{}
				ml.sources = nil
				ml.gens = 0
			}
			ml.sources = append(ml.sources, mi.in.sourceID)
			ml.gens++
			for p, w := range mi.writes {
				if w.del {
					delete(ml.rows, p)
				} else {
					ml.rows[p] = w.value
				}
			}
			if err := mi.in.Commit(); !errors.Is(err, ErrClosed) {
				t.Fatalf("step %d: second Commit: %v, want ErrClosed", step, err)
			}
			if err := mi.in.Put(pool[0], nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("step %d: Put after Commit: %v, want ErrClosed", step, err)
			}
		case x < 74:
			op = "abort"
			if len(ingests) == 0 {
				continue
			}
			mi := takeIngest()
			if err := mi.in.Abort(); err != nil {
				t.Fatalf("step %d: Abort: %v", step, err)
			}
			if err := mi.in.Abort(); !errors.Is(err, ErrClosed) {
				t.Fatalf("step %d: second Abort: %v, want ErrClosed", step, err)
			}
		case x < 75:
			// Compaction changes nothing visible (the model's sources
			// stay: refusals must come out the same), only the count of
			// generations.
			op = "compact"
			name := names[r.IntN(len(names))]
			err := s.CompactLayer(name)
			ml := m.layers[name]
			if refused(fmt.Sprintf("CompactLayer(%q)", name), err, ml == nil, ErrNoLayer) {
				break
			}
			ml.gens = min(ml.gens, 1)
		case x < 77:
			op = "drop"
			name := names[r.IntN(len(names))]
			err := s.DropLayer(name)
			if refused(fmt.Sprintf("DropLayer(%q)", name), err, m.layers[name] == nil, ErrNoLayer) {
				break
			}
			delete(m.layers, name)
		case x < 85:
			op = "snapshot"
			if len(snaps) < 3 {
				sn, err := s.Snapshot()
				if err != nil {
					t.Fatalf("step %d: Snapshot: %v", step, err)
				}
				snaps = append(snaps, &modelSnap{sn: sn, want: m.entries()})
				break
			}
			i := r.IntN(len(snaps))
			if d := diffEntries(collect(t, snaps[i].sn), snaps[i].want); d != "" {
				t.Fatalf("step %d: snapshot changed since it was taken:\n%s", step, d)
			}
			if err := snaps[i].sn.Close(); err != nil {
				t.Fatal(err)
			}
			snaps = slices.Delete(snaps, i, i+1)
		case x < 87:
			op = "stats"
			sn, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			st, err := sn.Stats()
			sn.Close()
			if err != nil {
				t.Fatalf("step %d: Stats: %v", step, err)
			}
			want := m.layerList()
			if len(st.Layers) != len(want) {
				t.Fatalf("step %d: Stats has %d layers, want %d", step, len(st.Layers), len(want))
			}
			for i, ls := range st.Layers {
				ml := m.layers[want[i].Name]
				if ls.Layer != want[i] || ls.Networks != int64(len(ml.rows)) || ls.Generations != ml.gens {
					t.Fatalf("step %d: Stats.Layers[%d] = %+v, want %v with %d networks in %d generations", step, i, ls, want[i], len(ml.rows), ml.gens)
				}
			}
			if st.DiskBytes == 0 {
				t.Fatalf("step %d: Stats.DiskBytes = 0", step)
			}
		case x < 90:
			// Power loss: keep only what was synced, plus a random part of
			// what was not. In-flight ingests are lost.
			op = "crash"
			closeSnaps()
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: r.IntN(101), RNG: r})
			if err := s.Close(); err != nil {
				t.Fatalf("step %d: Close: %v", step, err)
			}
			ingests = nil
			fs = crashed
			opts.fs = fs
			s = open()
		case x < 92:
			op = "reopen"
			closeSnaps()
			if err := s.Close(); err != nil {
				t.Fatalf("step %d: Close: %v", step, err)
			}
			ingests = nil // abandoned: their flushed rows are garbage now
			s = open()
		default:
			op = "check snapshots"
			for _, ms := range snaps {
				if d := diffEntries(collect(t, ms.sn), ms.want); d != "" {
					t.Fatalf("step %d: snapshot changed since it was taken:\n%s", step, d)
				}
			}
		}
		if t.Failed() {
			return
		}
		checkState(t, s, m)
		if t.Failed() {
			t.Fatalf("after step %d (%s)", step, op)
		}
	}
}
