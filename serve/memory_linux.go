package serve

import "syscall"

// memoryBytes returns the machine's RAM and swap in bytes, 0 if unknown:
// an allocation larger than that is refused by the kernel (overcommit
// heuristic), which the Go runtime turns into a fatal error.
func memoryBytes() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	unit := uint64(si.Unit)
	if unit == 0 {
		unit = 1
	}
	return (uint64(si.Totalram) + uint64(si.Totalswap)) * unit
}
