package compile

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"math"
	"net/netip"
	"os"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/atomicfile"
	"github.com/klauspost/compress/zstd"
)

// Options configures a compilation. The zero value writes an IPv6
// database of type "ipatlas-City" with IPv4 aliases and the smallest
// record size that fits.
type Options struct {
	// WriterOptions are the file's settings, as format.Create takes them:
	// IP version (an IPv4 database leaves out the IPv6 networks of the
	// store and counts them as skipped), record size, metadata (empty
	// Languages means the locales the records' names maps carry;
	// geoip2-golang opens only the database types on its allow-list, such
	// as "GeoIP2-City"), IPv4 aliases and the writer's memory bounds.
	format.WriterOptions
	// Zstd also writes path + ".zst", the database compressed with zstd,
	// for distribution.
	Zstd bool
	// Aggregate is the merging policy; the zero value is exact (see
	// aggregate.go).
	Aggregate Aggregation
	// Progress, when not nil, is called with the number of stored
	// networks read so far, every 65,536 of them.
	Progress func(entries int)
}

// Stats says what a compilation did.
type Stats struct {
	// Entries is the number of stored networks read, over all layers.
	Entries int
	// Networks is the number of disjoint networks handed to the writer,
	// before adjacent equal ones were merged.
	Networks int
	// Skipped counts networks left out: IPv6 networks of an IPv4
	// database, and networks inside an IPv4 alias.
	Skipped int
	// Records is the number of distinct records.
	Records int
	// Bytes is the size of the written .mmdb.
	Bytes int64
	// Aggregate says what a region aggregation did (zero for exact).
	Aggregate AggregateStats
}

// CompileNetworks writes networks to a .mmdb at path: the most specific
// prefix wins; of equal prefixes, the higher priority, then the higher
// overall confidence (ipatlas.confidence); adjacent equal networks are
// merged and equal records stored once. The file appears whole at path or
// not at all. Networks come in store order: by address (IPv4 first, as
// ::a.b.c.d), then prefix length ascending, then priority descending.
func CompileNetworks(networks iter.Seq2[Network, error], path string, opts Options) (Stats, error) {
	return compileNetworks(networks, path, opts, false)
}

// compileNetworks is CompileNetworks; with fromReadAhead, a Record with
// canonBit says its Value is canonical (readAhead checked it).
func compileNetworks(networks iter.Seq2[Network, error], path string, opts Options, fromReadAhead bool) (Stats, error) {
	var st Stats
	w, err := format.Create(path, opts.WriterOptions)
	if err != nil {
		return st, fmt.Errorf("compile: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			w.Abort()
		}
	}()
	aliases := []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("2002::/16")}
	if opts.DisableIPv4Aliases || opts.IPVersion == 4 {
		aliases = nil
	}
	var lastValue []byte // the previous network's record, and its id
	var lastID format.RecordID
	haveLast := false
	// ids maps Network.Record to the writer's id, for the records met
	// lately: a known record is not hashed again.
	ids := newRecordIDs()
	var langs nameLanguages // when opts.Languages is empty
	collect := len(opts.Languages) == 0
	lastRecord := uint64(0)
	write := func(p netip.Prefix, value []byte, record uint64) error {
		if opts.IPVersion == 4 && !p.Addr().Is4() {
			st.Skipped++
			return nil
		}
		for _, a := range aliases {
			if p.Addr().Is6() && a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
				st.Skipped++
				return nil
			}
		}
		switch {
		case record != 0 && record == lastRecord:
		case record != 0:
			id, ok := ids.get(record)
			if !ok {
				var err error
				if fromReadAhead && record&canonBit != 0 {
					id, err = w.InternCanonical(value)
				} else {
					id, err = w.InternBytes(value)
				}
				if err != nil {
					return fmt.Errorf("network %s: %w", p, err)
				}
				if collect {
					langs.add(id, value)
				}
				ids.put(record, id)
			}
			lastID, lastRecord, haveLast = id, record, false
		case !haveLast || !bytes.Equal(value, lastValue):
			id, err := w.InternBytes(value)
			if err != nil {
				return fmt.Errorf("network %s: %w", p, err)
			}
			if collect {
				langs.add(id, value)
			}
			lastValue, lastID, haveLast, lastRecord = append(lastValue[:0], value...), id, true, 0
		}
		id := lastID
		st.Networks++
		return w.Insert(p, id)
	}
	res := &Resolver{emit: write}
	var agg *aggregator
	if opts.Aggregate.Level != "" {
		agg = newAggregator(opts.Aggregate, write)
		res.emit = agg.add
	}
	// Of a run of equal prefixes, keep the best: they come by priority,
	// and confidence is read only when two of equal priority tie.
	var best Network
	bestBuf := new([]byte) // best.Value's copy, when it needs one
	bestConf := math.NaN() // not read yet
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		return res.add(best.Prefix, best.Value, best.Record)
	}
	for n, err := range networks {
		if err != nil {
			return st, fmt.Errorf("compile: reading the store: %w", err)
		}
		st.Entries++
		if st.Entries&0xffff == 0 && opts.Progress != nil {
			opts.Progress(st.Entries)
		}
		if have && n.Prefix == best.Prefix {
			if n.Priority == best.Priority {
				if math.IsNaN(bestConf) {
					bestConf = confidence(best.Value)
				}
				if c := confidence(n.Value); c > bestConf {
					best.Layer, bestConf = n.Layer, c
					best.Value, best.Record = keep(bestBuf, n), n.Record
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return st, fmt.Errorf("compile: %w", err)
		}
		best = Network{Prefix: n.Prefix, Priority: n.Priority, Layer: n.Layer, Value: keep(bestBuf, n), Record: n.Record}
		bestConf, have = math.NaN(), true
	}
	if err := flush(); err != nil {
		return st, fmt.Errorf("compile: %w", err)
	}
	if err := res.Flush(); err != nil {
		return st, fmt.Errorf("compile: %w", err)
	}
	if agg != nil {
		if st.Aggregate, err = agg.finish(); err != nil {
			return st, fmt.Errorf("compile: %w", err)
		}
	}
	if collect {
		w.SetLanguages(langs.list())
	}
	// Close writes the last run of networks, and with it maybe a record
	// not written before: count the records after it.
	if err := w.Close(); err != nil {
		return st, fmt.Errorf("compile: %w", err)
	}
	st.Records = w.Records()
	ok = true
	fi, err := os.Stat(path)
	if err != nil {
		return st, fmt.Errorf("compile: %w", err)
	}
	st.Bytes = fi.Size()
	if opts.Zstd {
		if err := compressFile(path, path+".zst"); err != nil {
			return st, err
		}
	}
	return st, nil
}

// keep returns n.Value copied into *buf, as it may be held past the
// iteration's next step.
func keep(buf *[]byte, n Network) []byte {
	*buf = append((*buf)[:0], n.Value...)
	return *buf
}

// recordIDs maps Network.Record to the writer's id for the records met
// lately: a table indexed by the record's low bits (its number in its
// dictionary: dense, so the records of one dictionary rarely collide).
// Its size is fixed; a record it lost is interned again, which the
// writer resolves.
type recordIDs struct {
	slots []recordIDSlot
}

type recordIDSlot struct {
	record uint64 // 0: empty
	id     format.RecordID
}

const recordIDSlots = 1 << 18

func newRecordIDs() *recordIDs { return &recordIDs{slots: make([]recordIDSlot, recordIDSlots)} }

func (r *recordIDs) get(record uint64) (format.RecordID, bool) {
	s := &r.slots[record&(recordIDSlots-1)]
	return s.id, s.record == record
}

func (r *recordIDs) put(record uint64, id format.RecordID) {
	r.slots[record&(recordIDSlots-1)] = recordIDSlot{record, id}
}

// confidence reads ipatlas.confidence from an encoded record, or -1.
func confidence(value []byte) float64 {
	v, _, err := format.NewDecoder(value).Value(0)
	if err != nil {
		return -1
	}
	m, _ := v.(format.Map)
	ia, _ := m["ipatlas"].(format.Map)
	switch c := ia["confidence"].(type) {
	case format.Float64:
		return float64(c)
	case format.Float32:
		return float64(c)
	}
	return -1
}

// compressFile writes src compressed with zstd to dst, atomically.
func compressFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("compile: zstd: %w", err)
	}
	defer in.Close()
	// atomicfile: mode 0644 as the .mmdb, fsync of the file and its folder.
	err = atomicfile.Write(dst, func(w io.Writer) error {
		enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
		if err != nil {
			return err
		}
		if _, err := io.Copy(enc, in); err != nil {
			enc.Close()
			return err
		}
		return enc.Close()
	})
	if err != nil {
		return fmt.Errorf("compile: zstd: %w", err)
	}
	return nil
}
