//go:build unix

package format

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCreateTempRefusesNonFiles: CreateTemp refuses a target that is a
// directory, a named pipe or a device, and creates nothing beside it;
// the rename at the end replaced such a target with a regular file (as
// root, /dev/null or /dev/full). A regular file and a symbolic link are
// written as before.
func TestCreateTempRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, kind string }{
		{fifo, "a named pipe"}, {sub, "a directory"}, {os.DevNull, "a device"},
	} {
		f, err := CreateTemp(c.path)
		if err == nil {
			f.Close()
			os.Remove(f.Name())
			t.Errorf("CreateTemp(%s): no error", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.kind) {
			t.Errorf("CreateTemp(%s): %v, want it to say %q", c.path, err, c.kind)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("%d entries in the folder, want the FIFO and the folder only", len(entries))
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Errorf("%s is no longer a device: %v %v", os.DevNull, st, err)
	}

	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{target, link, filepath.Join(dir, "new")} {
		f, err := CreateTemp(p)
		if err != nil {
			t.Errorf("CreateTemp(%s): %v", p, err)
			continue
		}
		f.Close()
		os.Remove(f.Name())
	}
}
