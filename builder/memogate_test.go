package builder

import "testing"

// TestMemoGate: a memo whose lookups miss goes cold after a window of
// 65,536 lookups (then 1 row in 16 looks up), and warm again once 1 in
// 16 of its lookups hit.
func TestMemoGate(t *testing.T) {
	var g memoGate
	lookups := 0
	rows := func(n int, hit func(i int) bool) {
		for i := range n {
			if g.skip() {
				continue
			}
			lookups++
			if hit(i) {
				g.hit()
			} else {
				g.miss()
			}
		}
	}
	never := func(int) bool { return false }
	rows(1<<16, never)
	if lookups != 1<<16 || !g.cold {
		t.Fatalf("first window: %d of %d rows looked up, cold %v; want all, then cold", lookups, 1<<16, g.cold)
	}
	lookups = 0
	rows(1<<16, never)
	if lookups != 1<<12 || !g.cold {
		t.Fatalf("cold: %d of %d rows looked up, cold %v; want 1 in 16 (%d), still cold", lookups, 1<<16, g.cold, 1<<12)
	}
	rows(1<<16, func(i int) bool { return i%64 != 0 })
	if g.cold {
		t.Fatal("most rows repeat and still cold")
	}
	lookups = 0
	rows(1<<10, never)
	if lookups != 1<<10 {
		t.Fatalf("warm again: %d of %d rows looked up, want all", lookups, 1<<10)
	}
}
