package cputime

import (
	"runtime"
	"testing"
)

// TestProcessGrows: CPU time does not go back and grows with work.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no CPU clock")
	}
	a := Process()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	b := Process()
	if b <= a || x == 0 {
		t.Errorf("CPU time %v then %v", a, b)
	}
}
