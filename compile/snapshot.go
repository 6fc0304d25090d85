package compile

import "github.com/ipatlas/ipatlas/kv"

// Compile writes the networks of a store snapshot to a .mmdb at path:
// the most specific prefix wins; of equal prefixes, the higher layer
// priority, then the higher overall confidence (ipatlas.confidence);
// adjacent equal networks are merged and equal records stored once. The
// file appears whole at path or not at all.
func Compile(snap *kv.Snapshot, path string, opts Options) (Stats, error) {
	return CompileNetworks(func(yield func(Network, error) bool) {
		for e, err := range snap.All() {
			if !yield(Network{Prefix: e.Prefix, Priority: e.Layer.Priority, Layer: e.Layer.ID, Value: e.Value}, err) {
				return
			}
		}
	}, path, opts)
}
