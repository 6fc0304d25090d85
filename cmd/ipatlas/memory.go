package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryLimit is the soft limit of the Go heap that build, ingest,
// compile and store migrate set unless told otherwise. Their memory does
// not grow with the input (rows, networks, distinct records): the live
// heap stays at a few hundred MiB, so the limit only says how much room
// the garbage collector gets; Pebble's block cache and memtables (up to
// about 200 MiB, allocated off the Go heap where cgo is available) may
// come on top.
const defaultMemoryLimit = 1 << 30

// setRuntime says whether the memory flags change the Go runtime's
// settings: main sets it before running a command; tests that run
// commands in-process leave it false, so the test process keeps its own.
var setRuntime = false

// memoryHelp is the text of --memory-limit in the heavy commands' --help.
const memoryHelp = "soft limit of the Go heap, e.g. 512MiB, 2GiB, 4G; the garbage collector runs only when the heap nears it. " +
	"Default 1GiB, or $GOMEMLIMIT if set; 'off' for Go's default collector (GOGC). Memory does not grow with the input; " +
	"Pebble's block cache and memtables (up to about 200 MiB) may come on top"

// memoryFlag registers --memory-limit on fs and returns a function that
// applies it once the flags are parsed.
func memoryFlag(fs *flag.FlagSet) func() error {
	s := fs.String("memory-limit", "", memoryHelp)
	return func() error {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "memory-limit" })
		if !set {
			if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
				return nil // the user's runtime settings, as Go reads them
			}
			applyMemoryLimit(defaultMemoryLimit)
			return nil
		}
		n, err := parseSize(*s)
		if err != nil {
			return usagef("--memory-limit %q: %v", *s, err)
		}
		applyMemoryLimit(n)
		return nil
	}
}

// applyMemoryLimit sets the heap's soft limit and turns the proportional
// collector off, so that the heap grows to the limit before a collection
// (few collections: the live heap is small); n < 0 restores Go's
// defaults.
func applyMemoryLimit(n int64) {
	if !setRuntime {
		return
	}
	if n < 0 {
		debug.SetMemoryLimit(1<<63 - 1)
		debug.SetGCPercent(100)
		return
	}
	debug.SetMemoryLimit(n)
	debug.SetGCPercent(-1)
}

// parseSize parses a size in bytes with an optional unit: B, KiB, MiB,
// GiB, TiB (powers of 1024; K, M, G, T and KB, MB, GB, TB too), or "off"
// (-1).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') && s[i-1] != '.' {
		i--
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("want a size such as 512MiB or 2GiB, or off")
	}
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KiB, MiB, GiB or TiB", s[i:])
	}
	n := f * mult
	if n < 64<<20 {
		return 0, fmt.Errorf("below 64MiB: too small to work in")
	}
	if n > 1<<62 {
		return 0, fmt.Errorf("too large")
	}
	return int64(n), nil
}
