//go:build race

package main

// underRace is true under the race detector, where the in-process checks
// of the large round-trip tests sample fewer records (the commands run
// as the built binary, at full speed, either way).
const underRace = true
