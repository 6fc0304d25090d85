package mmdbtool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// TestIteratorsStopAndErrors checks that the iterators stop when the
// loop breaks (range-over-func panics if an iterator yields after that),
// and that on a corrupt tree they yield one error, last, naming the file.
func TestIteratorsStopAndErrors(t *testing.T) {
	dir := filepath.Dir(testutil.ConformanceGlob(t, "test-data/GeoIP2-City-Test.mmdb")[0])
	good, err := Open(filepath.Join(dir, "GeoIP2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	other, err := Open(filepath.Join(dir, "GeoLite2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	n := 0
	for _, err := range good.Networks(AliasesAll) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	d := NewDiffer(good, other, DiffOptions{})
	n = 0
	for _, err := range d.All() {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if c := d.Counts(); c.Total() != 2 {
		t.Errorf("counts after 2 differences and a break: %+v", c)
	}

	brokenPath := filepath.Join(dir, "MaxMind-DB-test-broken-search-tree-24.mmdb")
	broken, err := Open(brokenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	check := func(what string, errs []error, after int) {
		t.Helper()
		if len(errs) != 1 || after != 0 {
			t.Fatalf("%s: %d errors, %d pairs after the error; want 1 error, last", what, len(errs), after)
		}
		if !strings.Contains(errs[0].Error(), brokenPath) {
			t.Errorf("%s: error does not name the file: %v", what, errs[0])
		}
	}
	var errs []error
	after := 0
	for _, err := range broken.Networks(AliasesNone) {
		if err != nil {
			errs = append(errs, err)
		} else if len(errs) > 0 {
			after++
		}
	}
	check("Networks", errs, after)
	errs, after = nil, 0
	for _, err := range NewDiffer(good, broken, DiffOptions{}).All() {
		if err != nil {
			errs = append(errs, err)
		} else if len(errs) > 0 {
			after++
		}
	}
	check("Differ.All", errs, after)
	if _, err := WriteJSONL(io.Discard, broken, ExportOptions{}); err == nil || !strings.Contains(err.Error(), brokenPath) {
		t.Errorf("WriteJSONL: %v", err)
	}
	if _, err := WriteCSV(io.Discard, broken, ExportOptions{}); err == nil || !strings.Contains(err.Error(), brokenPath) {
		t.Errorf("WriteCSV: %v", err)
	}
	var te *TreeError
	if _, err := Inspect(brokenPath); !errors.As(err, &te) || te.Path != brokenPath {
		t.Errorf("Inspect: %v, want a *TreeError naming the file", err)
	}
	rep, err := Verify(brokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() == nil || !strings.Contains(rep.Err().Error(), brokenPath) {
		t.Errorf("Verify: problems %v", rep.Problems)
	}
}

// TestOpenRefusesNonFiles checks the errors of Open, Inspect and Verify
// for a missing file, a directory and an empty file.
func TestOpenRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.mmdb"), "no such file"},
		{dir, "not a regular file"},
		{empty, empty + ": file is empty"},
	} {
		_, err1 := Open(c.path)
		_, err2 := Inspect(c.path)
		_, err3 := Verify(c.path)
		for i, err := range []error{err1, err2, err3} {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: call %d: %v, want %q", c.path, i, err, c.want)
			}
		}
		if c.path == dir && !errors.Is(err1, reader.ErrNotRegular) {
			t.Errorf("Open(dir): %v does not wrap reader.ErrNotRegular", err1)
		}
	}
}

// FuzzFile feeds any bytes to every entry point: errors are fine,
// panics and hangs are not. Seeded with the conformance files.
func FuzzFile(f *testing.F) {
	testutil.AddConformanceSeeds(f, 1<<16-1, "test-data/*.mmdb")
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.mmdb")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Inspect(path)
		if rep, err := Verify(path); err == nil {
			_ = rep.Err()
		}
		file, err := FromBytes("fuzz", b)
		if err != nil {
			return
		}
		_, _ = WriteJSONL(io.Discard, file, ExportOptions{Aliases: AliasesAll})
		_, _ = WriteCSV(io.Discard, file, ExportOptions{})
		for range NewDiffer(file, file, DiffOptions{}).All() {
		}
		var buf bytes.Buffer
		_, _ = WriteJSONL(&buf, file, ExportOptions{})
	})
}
