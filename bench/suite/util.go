package suite

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// rssKiB is this process's resident set size now (VmRSS), in KiB.
func rssKiB() int64 { return statusKiB("/proc/self/status", "VmRSS:") }

// statusKiB reads a "Key: N kB" line of a /proc/PID/status file; 0 if it
// cannot.
func statusKiB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func sortFloats(s []float64) { slices.Sort(s) }
