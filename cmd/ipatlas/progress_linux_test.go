package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a new pseudo-terminal's two ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	return m, s
}

// TestProgressOnTerminal: the long commands print a progress line (a
// count and a rate, rewritten with \r, ended with "done") on standard
// error when it is a terminal, and nothing of it when it is a file or
// /dev/null; --version prints the version.
func TestProgressOnTerminal(t *testing.T) {
	m, s := openPTY(t)
	if !isTerminal(s) {
		t.Fatal("isTerminal(pty) is false")
	}
	m.Close()
	s.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if isTerminal(null) {
		t.Error("isTerminal(/dev/null) is true")
	}
	null.Close()

	dir := t.TempDir()
	a := buildSampleDB(t, dir, "a.mmdb")
	b := filepath.Join(dir, "b.mmdb")
	mustRunCLI(t, exitOK, "build", "--out", b, sampleInputs[0])
	store := filepath.Join(dir, "store")
	mustRunCLI(t, exitOK, "ingest", "--db", store, "--source", "s", sampleInputs[1])
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", a, "--out", filepath.Join(dir, "rows.jsonl")}, "networks/s"},
		{[]string{"diff", "--brief", a, b}, "nodes/s"},
		{[]string{"compile", "--db", store, "--out", filepath.Join(dir, "c.mmdb")}, "networks/s"},
		{[]string{"verify", a, b}, "files/s"},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			m, s := openPTY(t)
			defer m.Close()
			cmd := exec.Command(ipatlasBin, c.args...)
			cmd.Env = append(os.Environ(), "IPATLAS_PROGRESS_EVERY=1ms")
			cmd.Stdout, cmd.Stderr = io.Discard, s
			got := make(chan []byte)
			go func() {
				var buf bytes.Buffer
				io.Copy(&buf, m) // ends with EIO once the last slave fd closes
				got <- buf.Bytes()
			}()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			cmd.Wait()
			out := string(<-got)
			if !strings.Contains(out, "\r") || !strings.Contains(out, c.want) || !strings.Contains(out, "done") {
				t.Errorf("no progress line on the terminal:\n%q", out)
			}
			// Not a terminal: no progress.
			cmd = exec.Command(ipatlasBin, c.args...)
			cmd.Env = append(os.Environ(), "IPATLAS_PROGRESS_EVERY=1ms")
			var e bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &e
			cmd.Run()
			if strings.Contains(e.String(), "\r") {
				t.Errorf("progress on a pipe:\n%q", e.String())
			}
		})
	}
	stdout, _ := mustRunCLI(t, exitOK, "--version")
	if !strings.HasPrefix(stdout, "ipatlas ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("--version: %q", stdout)
	}
}
