package main

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decompress returns the content of a sample file, by its extension.
func decompress(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	switch filepath.Ext(name) {
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case ".zst":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// TestSampleUpToDate checks that generating twice gives the same content,
// and that the committed testdata/sample/ is what the generator writes
// (compared decompressed: compressors may change their bytes between
// versions). Run `go run ./builder/internal/gensample` at the repository
// root after changing the generator.
func TestSampleUpToDate(t *testing.T) {
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "..", "testdata", "sample")
	for i, f := range a {
		got := decompress(t, f.name, f.data)
		if again := decompress(t, f.name, b[i].data); !bytes.Equal(got, again) {
			t.Errorf("%s: two runs differ", f.name)
		}
		committed := testutil.ReadFile(t, filepath.Join(dir, f.name))
		if !bytes.Equal(decompress(t, f.name, committed), got) {
			t.Errorf("%s: the committed file differs from the generator's output; regenerate it", f.name)
		}
		if _, err := check(filepath.Join(dir, f.name)); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
	}
}
