package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// oldFile makes dir/db holding "old" and returns its path.
func oldFile(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "db")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// wantOld checks that dir holds db alone, with "old".
func wantOld(t *testing.T, dir, path string) {
	t.Helper()
	if got := testutil.DirNames(t, dir); !slices.Equal(got, []string{"db"}) {
		t.Errorf("folder holds %q, want only db (no temporary file)", got)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old" {
		t.Errorf("target = %q, %v; want the old file untouched", b, err)
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir, path := oldFile(t)
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new" {
		t.Errorf("target = %q, %v; want new", b, err)
	}
	if got := testutil.DirNames(t, dir); !slices.Equal(got, []string{"db"}) {
		t.Errorf("folder holds %q, want only db", got)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
		}
	}
	// A file that did not exist.
	fresh := filepath.Join(dir, "fresh")
	if err := WriteFile(fresh, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Size() != 0 {
		t.Errorf("fresh: %v, %v", fi, err)
	}
}

func TestFailedWriteLeavesOld(t *testing.T) {
	dir, path := oldFile(t)
	boom := errors.New("boom")
	var tmp string
	err := Write(path, func(w io.Writer) error {
		tmp = w.(*os.File).Name()
		if _, err := w.Write([]byte("half")); err != nil {
			return err
		}
		if got := testutil.DirNames(t, dir); len(got) != 2 {
			t.Errorf("while writing the folder holds %q, want db and a temporary file", got)
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("Write = %v, want boom, naming %s", err, path)
	}
	if filepath.Dir(tmp) != dir {
		t.Errorf("temporary file %s is not in the target's folder %s", tmp, dir)
	}
	wantOld(t, dir, path)
}

func TestFailedRenameLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db")
	// A folder holding a file at the target: the rename fails.
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("new"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("WriteFile over a folder = %v, want an error naming %s", err, path)
	}
	if got := testutil.DirNames(t, dir); !slices.Equal(got, []string{"db"}) {
		t.Errorf("folder holds %q, want only db (no temporary file)", got)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("target %v, %v; want the folder untouched", fi, err)
	}
}

func TestAbortAndCommitOnce(t *testing.T) {
	dir, path := oldFile(t)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	f.Abort() // twice is harmless
	wantOld(t, dir, path)
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	wantOld(t, dir, path)

	f, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("Path = %s", f.Path())
	}
	if _, err := f.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing
	if err := f.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new" {
		t.Errorf("target = %q, %v; want new", b, err)
	}
}

// TestSweepsStale: a temporary file of a killed writer of the same target
// (a process that is gone) is removed by the next write; one of a live
// process and other files are kept.
func TestSweepsStale(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("process probing is unix")
	}
	dir, path := oldFile(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command: %v", err)
	}
	dead := cmd.Process.Pid
	stale := ".db." + strconv.Itoa(dead) + "-1.tmp"
	live := ".db." + strconv.Itoa(os.Getpid()) + "-1.tmp"
	for _, n := range []string{stale, live, "other"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.DirNames(t, dir), []string{live, "db", "other"}; !slices.Equal(got, want) {
		t.Errorf("folder holds %q, want %q", got, want)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := SyncDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("SyncDir of a missing folder = %v", err)
	}
	if err := WriteFile(filepath.Join(missing, "db"), nil); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}
