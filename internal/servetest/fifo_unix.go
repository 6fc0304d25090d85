//go:build unix

package servetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// PutFIFO renames a new FIFO over path and waits until the service at
// base reports it refused (/healthz degraded, "not a regular file").
func PutFIFO(t testing.TB, base, path string) {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Rename(fifo, path); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "the FIFO to be refused", func() bool {
		_, v := Status(t, base, "/healthz")
		return v["status"] == "degraded" && v["last_reload_error"] == "not a regular file"
	})
}
