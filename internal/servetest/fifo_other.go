//go:build !unix

package servetest

import "testing"

// PutFIFO skips the test: the platform has no FIFOs to rename over a file.
func PutFIFO(t testing.TB, base, path string) {
	t.Helper()
	t.Skip("no FIFOs on this platform")
}
