package builder

import "testing"

// TestMemoGate: a memo whose lookups miss goes cold (takes 1 miss in 16)
// after a window of 65,536 lookups, and warm again once they hit.
func TestMemoGate(t *testing.T) {
	var g memoGate
	added := 0
	for range 1 << 16 {
		if g.miss() {
			added++
		}
	}
	if added != 1<<16 || !g.cold {
		t.Fatalf("first window: %d of %d added, cold %v; want all added, then cold", added, 1<<16, g.cold)
	}
	added = 0
	for range 1 << 16 {
		if g.miss() {
			added++
		}
	}
	if added != 1<<12 {
		t.Fatalf("cold window: %d added, want 1 in 16 (%d)", added, 1<<12)
	}
	for i := range 1 << 16 {
		if i%4 == 0 {
			g.miss()
		} else {
			g.hit()
		}
	}
	if g.cold {
		t.Fatal("3 hits in 4 and still cold")
	}
}
