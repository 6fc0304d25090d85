package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ipatlas/ipatlas/format"
)

// interruptible runs fn with a context that SIGINT or SIGTERM cancels.
// On such a signal it does not wait for fn: it runs cleanup (which
// removes this process's temporary files) and returns an exitError with
// status 128+signal, as a shell reports a process the signal ended, for
// the caller to exit with at once.
func interruptible(fn func(ctx context.Context) error, cleanup func()) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case sig := <-sigs:
		cancel()
		cleanup()
		code := 130
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		return exitError{code, fmt.Errorf("%v: stopped; temporary files removed", sig)}
	}
}

// removeOwnTemps removes this process's temporary files for the output
// paths (a .mmdb being written, its .zst).
func removeOwnTemps(paths ...string) {
	for _, p := range paths {
		format.RemoveOwn(filepath.Dir(p), "."+filepath.Base(p)+".", ".tmp")
	}
}

// buildDirPrefix names the temporary stores of 'ipatlas build'.
const buildDirPrefix = ".ipatlas-build-"
