//go:build !linux

package reader

// adviseHugePages is a no-op here: MADV_HUGEPAGE is Linux's
// (x/sys/unix has no such constant on darwin or the BSDs, whose build
// it broke).
func adviseHugePages(b []byte) {}
