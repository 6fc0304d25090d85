package compile

import (
	"bytes"
	"iter"

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
	return CompileNetworks(readAhead(snap.All()), path, opts)
}

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
// (block reads, decompression, the merge of layers) overlaps the
// compilation. Each Network's Value is valid until the iteration takes
// its next step, as with seq. A value equal to the one before it in the
// batch shares its bytes.
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
			var last []byte // the value of the last network of the batch
			lastRecord := uint64(0)
			for e, err := range seq {
				if err != nil {
					b.err = err
					send()
					return
				}
				v := last
				switch {
				case len(b.nets) > 0 && e.Record != 0 && e.Record == lastRecord:
				case len(b.nets) == 0 || !bytes.Equal(e.Value, last):
					n := len(b.vals)
					b.vals = append(b.vals, e.Value...)
					v = b.vals[n:len(b.vals):len(b.vals)]
				}
				last = v
				n := Network{Prefix: e.Prefix, Priority: e.Layer.Priority, Layer: e.Layer.ID, Value: v, Record: e.Record}
				lastRecord = e.Record
				b.nets = append(b.nets, n)
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
