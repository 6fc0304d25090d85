package mmapfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWhole reads a file back whole (mapped where the platform maps,
// and then released with Unmap) and refuses an empty one with ErrEmpty.
func TestWhole(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	for _, c := range []struct {
		name    string
		content []byte
		err     error
	}{
		{"data", want, nil},
		{"one", []byte{7}, nil},
		{"empty", nil, ErrEmpty},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.content, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		data, mapped, err := Whole(f)
		f.Close() // the mapping outlives the file
		if !errors.Is(err, c.err) {
			t.Fatalf("%s: Whole: %v, want %v", c.name, err, c.err)
		}
		if err != nil {
			continue
		}
		if !bytes.Equal(data, c.content) {
			t.Errorf("%s: Whole read %d bytes, not the file's %d", c.name, len(data), len(c.content))
		}
		if mapped {
			if err := Unmap(data); err != nil {
				t.Errorf("%s: Unmap: %v", c.name, err)
			}
		}
	}
}
