//go:build race

package reader

// raceEnabled is true under the race detector, where the large
// equality tests check a tenth of their addresses (the plain run checks
// them all).
const raceEnabled = true
