package kv

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// The child process of TestCrashKill is this test binary, run with these
// environment variables set.
const (
	envCrashDir   = "KV_CRASH_CHILD_DIR"
	envCrashMode  = "KV_CRASH_CHILD_MODE"
	envCrashStop  = "KV_CRASH_CHILD_STOP"
	envCrashOrder = "KV_CRASH_CHILD_ORDER"
)

// Sizes of the crash test's files.
const (
	crashRowsA = 2000   // the committed file in layer "b" before the crash
	crashRowsB = 100000 // the file the child ingests into layer "b"
	crashReady = 30000  // rows of B written before the child says READY
	crashBatch = 64 << 10
)

// fileA is row i of the file committed before the crash: /24s alternately
// in 20.0.0.0/16-20.7.0.0/16 (inside file B) and in 30.0.0.0/13 (outside it).
func fileA(i int) (netip.Prefix, string) {
	base := byte(20)
	if i%2 == 1 {
		base = 30
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{base, byte(i >> 8), byte(i), 0}), 24), "a" + strconv.Itoa(i)
}

// fileBAt is row i of the file the child ingests: 100,000 sequential /24s
// from 20.0.0.0 (so it covers the 20.x.y.0/24 rows of file A).
func fileBAt(i int) (netip.Prefix, string) {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{20 + byte(i>>16), byte(i >> 8), byte(i), 0}), 24), "b" + strconv.Itoa(i)
}

// crashOrder maps 0..crashRowsB-1 onto itself out of order (7919 is prime
// and does not divide crashRowsB).
func crashOrder(i int) int { return i * 7919 % crashRowsB }

// TestCrashChild is the child process of TestCrashKill; it does nothing in a
// normal test run. It ingests file B into layer "b" and tells the parent on
// stdout how far it got, then waits to be killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("child process of TestCrashKill")
	}
	mode := Upsert
	if os.Getenv(envCrashMode) == "replace" {
		mode = Replace
	}
	// Small tables: several are ingested (unpublished) before READY.
	s, err := Open(dir, Options{BatchSize: crashBatch, maxTable: 256 << 10})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	in, err := s.BeginIngest("b", mode, "file-B")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	shuffled := os.Getenv(envCrashOrder) == "shuffled"
	for i := range crashRowsB {
		j := i
		if shuffled {
			j = crashOrder(i) // unsorted: the ingest falls back to batches
		}
		p, v := fileBAt(j)
		if err := in.Put(p, []byte(v)); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		if i == crashReady {
			fmt.Println("READY")
		}
	}
	if os.Getenv(envCrashStop) == "after-commit" {
		if err := in.Commit(); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("COMMITTED")
	} else {
		fmt.Println("WRITTEN")
	}
	select {} // wait for SIGKILL
}

// TestCrashKill kills (SIGKILL) a process in the middle of an ingest, or right
// after its Commit returned, then opens the store: it must open cleanly, show
// exactly the committed files, hold no rows of the lost ingest, and take the
// same ingest again.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	tests := []struct {
		mode      string // of the child's ingest
		order     string // of the child's rows: sorted (tables) or shuffled (batches)
		stop      string // the child's line after which it is killed
		committed bool   // whether file B must survive
	}{
		{"upsert", "sorted", "READY", false},
		{"replace", "sorted", "READY", false},
		{"upsert", "shuffled", "READY", false},
		{"replace", "shuffled", "WRITTEN", false},
		{"upsert", "sorted", "WRITTEN", false},
		{"replace", "sorted", "COMMITTED", true},
		{"upsert", "shuffled", "COMMITTED", true},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"-"+tt.order+"-"+tt.stop, func(t *testing.T) {
			dir := t.TempDir()
			mode := Upsert
			if tt.mode == "replace" {
				mode = Replace
			}
			// Before: layer "a" and file A in layer "b", committed.
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := &model{layers: map[string]*modelLayer{}}
			for name, prio := range map[string]int32{"a": 2, "b": 1} {
				m.layers[name] = &modelLayer{Layer: ensure(t, s, name, prio), rows: map[netip.Prefix]string{}}
			}
			ingest(t, s, "a", Replace, "file-A0", []row{{prefix: "20.0.0.0/16", value: "a-only"}})
			m.layers["a"].rows[netip.MustParsePrefix("20.0.0.0/16")] = "a-only"
			in, err := s.BeginIngest("b", Replace, "file-A")
			if err != nil {
				t.Fatal(err)
			}
			for i := range crashRowsA {
				p, v := fileA(i)
				if err := in.Put(p, []byte(v)); err != nil {
					t.Fatal(err)
				}
				m.layers["b"].rows[p] = v
			}
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// The child ingests B; kill it at its stop line.
			cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashMode+"="+tt.mode, envCrashOrder+"="+tt.order, envCrashStop+"="+map[bool]string{true: "after-commit"}[tt.committed])
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			reached := false
			for !reached && sc.Scan() {
				line := sc.Text()
				t.Logf("child: %s", line)
				reached = line == tt.stop
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if !reached {
				t.Fatalf("child ended before %s: %v", tt.stop, err)
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed by SIGKILL: %v", cmd.ProcessState)
			}

			// After: exactly the committed files.
			applyB := func() {
				lb := m.layers["b"]
				if mode == Replace {
					lb.rows = map[netip.Prefix]string{}
				}
				for i := range crashRowsB {
					p, v := fileBAt(i)
					lb.rows[p] = v
				}
			}
			if tt.committed {
				applyB()
			}
			s, err = Open(dir, Options{})
			if err != nil {
				t.Fatalf("Open after kill: %v", err)
			}
			defer s.Close()
			checkNoGarbage(t, s)
			checkState(t, s, m)

			// Re-running the ingest completes it, or is refused if it landed.
			in, err = s.BeginIngest("b", mode, "file-B")
			if tt.committed {
				if err == nil {
					t.Fatal("re-ingesting a committed file was not refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("BeginIngest after kill: %v", err)
			}
			for i := range crashRowsB {
				p, v := fileBAt(i)
				if err := in.Put(p, []byte(v)); err != nil {
					t.Fatal(err)
				}
			}
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			applyB()
			checkState(t, s, m)
		})
	}
}
