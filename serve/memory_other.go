//go:build !linux

package serve

// memoryBytes returns 0: the machine's memory is not known here.
func memoryBytes() uint64 { return 0 }
