package format

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Temporary files and folders of ipatlas carry the ID of the process
// that made them: PREFIX PID "-" RANDOM SUFFIX, such as
// ".city.mmdb.4242-81723.tmp" beside city.mmdb. A process killed before
// it could clean up (SIGKILL, a crash, a power cut) leaves them behind;
// the next one to write the same target removes those whose process is
// gone (SweepStale). A live process's files are never touched, whoever
// it is (a reused PID only delays the sweep), and names without a PID
// are left alone.

// OwnedPattern returns the os.CreateTemp/os.MkdirTemp pattern of this
// process's temporary files with prefix and suffix.
func OwnedPattern(prefix, suffix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "-*" + suffix
}

// CreateTemp removes the stale temporary files of path (SweepStale) and
// creates a new one in path's folder, to be renamed to path when
// complete, with mode 0644 (os.CreateTemp gives 0600), so that the
// renamed file is as readable as os.Create makes files.
//
// A path that is a directory, a device, a named pipe or a socket is
// refused: the rename would replace it with a regular file (as root,
// `ipatlas export X --format jsonl --out /dev/null` replaced /dev/null;
// TestCreateTempRefusesNonFiles). A symbolic link is replaced by the new
// file; its target is left alone.
func CreateTemp(path string) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() && st.Mode()&os.ModeSymlink == 0 {
		return nil, fmt.Errorf("%s is %s, not a regular file: it is written by renaming a new file over it, which would replace it", path, nonFileKind(st.Mode()))
	}
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	SweepStale(dir, prefix, ".tmp")
	f, err := os.CreateTemp(dir, OwnedPattern(prefix, ".tmp"))
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// nonFileKind names the kind of a file that is not a regular one.
func nonFileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "of mode " + m.String()
}

// SweepStale removes the entries of dir named prefix PID "-" ... suffix
// (files, or folders with what they hold) whose process PID is gone, and
// returns their names. Errors are ignored: a sweep is best effort.
func SweepStale(dir, prefix, suffix string) []string {
	return sweep(dir, prefix, suffix, func(pid int) bool { return !processAlive(pid) })
}

// RemoveOwn removes this process's entries of dir named prefix PID "-"
// ... suffix: what a signal handler cleans up before the process exits.
func RemoveOwn(dir, prefix, suffix string) []string {
	me := os.Getpid()
	return sweep(dir, prefix, suffix, func(pid int) bool { return pid == me })
}

func sweep(dir, prefix, suffix string, remove func(pid int) bool) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		mid, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if mid, ok = strings.CutSuffix(mid, suffix); !ok {
			continue
		}
		digits, _, ok := strings.Cut(mid, "-")
		pid, err := strconv.Atoi(digits)
		if !ok || err != nil || pid <= 0 || digits != strconv.Itoa(pid) || !remove(pid) {
			continue
		}
		if os.RemoveAll(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

// processAlive reports whether process pid exists (signal 0 reaches it,
// or it belongs to another user).
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
