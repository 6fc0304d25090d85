package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// deadPID returns the ID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.ProcessState.Pid()
}

// TestStaleTempsSwept: the temporary files a killed compile or build
// left (named with the PID of a process that is gone) are removed by the
// next build of the same output; those of a live process, and names
// without a PID, are not.
func TestStaleTempsSwept(t *testing.T) {
	dir := t.TempDir()
	dead, me := deadPID(t), os.Getpid()
	stale := []string{
		fmt.Sprintf(".out.mmdb.%d-123.tmp", dead),
		fmt.Sprintf(".out.mmdb.zst.%d-456.tmp", dead),
		fmt.Sprintf(".ipatlas-build-%d-789", dead),
	}
	kept := []string{
		fmt.Sprintf(".out.mmdb.%d-123.tmp", me),
		fmt.Sprintf(".ipatlas-build-%d-1", me),
		".out.mmdb.4242.tmp", // not ours to judge: no PID
		fmt.Sprintf(".other.mmdb.%d-1.tmp", dead),
	}
	for _, n := range append(slices.Clone(stale), kept...) {
		p := filepath.Join(dir, n)
		if strings.HasPrefix(n, ".ipatlas-build-") {
			if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRunCLI(t, exitOK, append([]string{"build", "--zstd", "--out", filepath.Join(dir, "out.mmdb")}, sampleInputs...)...)
	names := testutil.DirNames(t, dir)
	for _, n := range stale {
		if slices.Contains(names, n) {
			t.Errorf("%s (of a dead process) is still there", n)
		}
	}
	for _, n := range kept {
		if !slices.Contains(names, n) {
			t.Errorf("%s was removed", n)
		}
	}
}

// TestBuildInterruptedCleansUp: SIGINT or SIGTERM during a build leaves
// neither its temporary store nor a temporary .mmdb, and the exit status
// is 128 + the signal.
func TestBuildInterruptedCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large input (-short)")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "big.csv")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("network,country_code,latitude,longitude\n")
	for i := range 1 << 20 {
		fmt.Fprintf(w, "%d.%d.%d.0/24,CN,%d.5,%d.25\n", 1+i>>16, i>>8&255, i&255, i%80, i%170)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			outDir := t.TempDir()
			cmd := exec.Command(ipatlasBin, "build", "--out", filepath.Join(outDir, "out.mmdb"), in)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if slices.ContainsFunc(testutil.DirNames(t, outDir), func(n string) bool { return strings.HasPrefix(n, ".ipatlas-build-") }) {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no temporary store appeared")
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if names := testutil.DirNames(t, outDir); code == 0 {
				t.Skipf("the build finished before the signal (%v)", names)
			} else if len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
			if code != 128+int(sig) {
				t.Errorf("exit %d (%v), want %d; stderr:\n%s", code, err, 128+int(sig), stderr.String())
			}
		})
	}
}
