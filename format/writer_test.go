package format

import (
	"flag"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// seedFlag replays a failing random test: go test -run X -seed=N ./format
// (or IPATLAS_SEED=N).
var seedFlag = flag.Uint64("seed", 0, "seed for the random tests (0: IPATLAS_SEED or random)")

// testSeed returns the seed of a random test and logs it so a failure
// can be replayed.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		if s := os.Getenv("IPATLAS_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("IPATLAS_SEED=%q: %v", s, err)
			}
			seed = v
		}
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with -seed=%d or IPATLAS_SEED=%d)", seed, seed, seed)
	return seed
}
