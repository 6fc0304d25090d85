//go:build race

package serve

// raceEnabled is true under the race detector, which allocates on its
// own: the allocation test is skipped.
const raceEnabled = true
