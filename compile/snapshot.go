package compile

import (
	"bytes"
	"iter"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/kv"
)

// Compile writes the networks of a store snapshot to a .mmdb at path:
// the most specific prefix wins; of equal prefixes, the higher layer
// priority, then the higher overall confidence (ipatlas.confidence);
// adjacent equal networks are merged and equal records stored once. The
// file appears whole at path or not at all.
//
// The snapshot is read on a second goroutine, ahead of the writer.
func Compile(snap *kv.Snapshot, path string, opts Options) (Stats, error) {
	return compileNetworks(readAhead(snap.All()), path, opts, true)
}

// canonicalSlots is the size of readAhead's table of Records known to
// name canonical values.
const canonicalSlots = 1 << 18

// Bits of the Records readAhead gives: a Record with canonBit names a
// Value in canonical form (format.CanonicalRecord); one with synthBit was
// made by readAhead for a value the store did not name (a number that
// grows with each new value). Store Records use the low 33 bits only.
const (
	canonBit = 1 << 62
	synthBit = 1 << 63
)

// scanBatchSize is the number of networks readAhead sends at a time.
const scanBatchSize = 1024

// scanBatch is a run of networks read from the store, with their values
// in one buffer, or the error that ended the reading.
type scanBatch struct {
	nets []Network
	vals []byte
	err  error
}

// readAhead runs seq on another goroutine, in batches: the store's scan
// (block reads, decompression, the merge of layers) and the check that
// makes each record canonical overlap the compilation. Each Network's
// Value is valid until the iteration takes its next step, as with seq.
// A value equal to the one before it in the batch shares its bytes.
// Every Network has a Record: the store's, or one made here, with
// canonBit when Value is canonical.
func readAhead(seq iter.Seq2[kv.Entry, error]) iter.Seq2[Network, error] {
	return func(yield func(Network, error) bool) {
		out, free, stop := make(chan *scanBatch, 4), make(chan *scanBatch, 6), make(chan struct{})
		go func() {
			defer close(out)
			b := &scanBatch{}
			send := func() bool {
				select {
				case out <- b:
				case <-stop:
					return false
				}
				select {
				case b = <-free:
					b.nets, b.vals, b.err = b.nets[:0], b.vals[:0], nil
				default:
					b = &scanBatch{}
				}
				return true
			}
			var last []byte    // the value of the last network of the batch
			var lastRaw []byte // as the store gave it
			lastRecord, lastName, synth := uint64(0), uint64(0), uint64(0)
			// canonical remembers store Records met lately whose values
			// were found canonical: not checked again.
			canonical := make([]uint64, canonicalSlots)
			for e, err := range seq {
				if err != nil {
					b.err = err
					send()
					return
				}
				v, name := last, lastName
				switch {
				case len(b.nets) > 0 && e.Record != 0 && e.Record == lastRecord:
				case len(b.nets) > 0 && e.Record == 0 && lastRecord == 0 && bytes.Equal(e.Value, lastRaw):
				default:
					n := len(b.vals)
					var c []byte
					var err error
					if slot := &canonical[e.Record&(canonicalSlots-1)]; e.Record != 0 && *slot == e.Record {
						// Checked before: a Record names equal bytes.
						c = append(b.vals, e.Value...)
					} else if c, err = format.CanonicalRecord(b.vals, e.Value); err != nil {
						c = append(b.vals[:n], e.Value...) // the writer reports it
					} else if e.Record != 0 {
						*slot = e.Record
					}
					b.vals = c
					v = b.vals[n:len(b.vals):len(b.vals)]
					if name = e.Record; name == 0 {
						synth++
						name = synthBit | synth
					}
					if err == nil {
						name |= canonBit
					}
					if e.Record == 0 {
						lastRaw = append(lastRaw[:0], e.Value...)
					}
				}
				last, lastName, lastRecord = v, name, e.Record
				b.nets = append(b.nets, Network{Prefix: e.Prefix, Priority: e.Layer.Priority, Layer: e.Layer.ID, Value: v, Record: name})
				if len(b.nets) == scanBatchSize {
					if !send() {
						return
					}
				}
			}
			if len(b.nets) > 0 {
				send()
			}
		}()
		defer func() {
			close(stop)
			for range out { // wait until the scan is closed
			}
		}()
		for b := range out {
			for _, n := range b.nets {
				if !yield(n, nil) {
					return
				}
			}
			if b.err != nil {
				yield(Network{}, b.err)
				return
			}
			select {
			case free <- b:
			default:
			}
		}
	}
}
