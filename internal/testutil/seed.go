package testutil

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Seed returns the seed of a random test: IPATLAS_SEED when it is set,
// otherwise a random one. It logs the seed with the command that
// replays the test, so that a failure found by one seed can be rerun.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("IPATLAS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("IPATLAS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay: IPATLAS_SEED=%d go test -run '^%s$')", seed, seed, t.Name())
	return seed
}
