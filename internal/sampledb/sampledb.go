package sampledb

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/kv"
)

// CSV is the sample file, relative to the repository's root.
const CSV = "testdata/sample/bertgeo.csv"

// module is the go.mod line that marks the repository's root.
const module = "module github.com/ipatlas/ipatlas\n"

// Root returns the repository's root: the nearest directory at or above
// the working directory (a package's folder under go test) whose go.mod
// is this module's.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte(module)) {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("sampledb: no go.mod of github.com/ipatlas/ipatlas at or above the working directory")
		}
		dir = up
	}
}

// City compiles the sample CSV into dir/city.mmdb and returns its path.
func City(dir string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	var nets []compile.Network
	_, err = builder.ReadFile(filepath.Join(root, CSV), builder.Options{}, func(p netip.Prefix, rec []byte, _ int) error {
		nets = append(nets, compile.Network{Prefix: p, Value: slices.Clone(rec)})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sampledb: %w", err)
	}
	// Store order: by address, IPv4 first, then prefix length.
	slices.SortFunc(nets, func(a, b compile.Network) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	path := filepath.Join(dir, "city.mmdb")
	seq := func(yield func(compile.Network, error) bool) {
		for _, n := range nets {
			if !yield(n, nil) {
				return
			}
		}
	}
	if _, err := compile.CompileNetworks(seq, path, compile.Options{}); err != nil {
		return "", fmt.Errorf("sampledb: compiling %s: %w", CSV, err)
	}
	return path, nil
}

// Store opens a store in dir/store and ingests the sample CSV into it as
// `ipatlas build` would: source "bertgeo", priority 10, upsert. The
// caller closes it.
func Store(ctx context.Context, dir string) (*kv.Store, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	st, err := kv.Open(filepath.Join(dir, "store"), kv.Options{})
	if err != nil {
		return nil, fmt.Errorf("sampledb: %w", err)
	}
	if _, err := builder.IngestFile(ctx, st, "bertgeo", 10, kv.Upsert, filepath.Join(root, CSV), builder.Options{}); err != nil {
		st.Close()
		return nil, fmt.Errorf("sampledb: %w", err)
	}
	return st, nil
}

// TempCity is City into a new temporary directory; cleanup removes it.
func TempCity() (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "ipatlas-sample-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if path, err = City(dir); err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}

// Rows calls fn with each data row of the sample CSV, as a map from
// column name to cell (empty cells included), and its line number (the
// header is line 1), until fn returns an error, which Rows returns.
func Rows(fn func(line int, row map[string]string) error) error {
	root, err := Root()
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(root, CSV))
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", CSV, err)
	}
	for {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", CSV, err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = cells[i]
		}
		line, _ := r.FieldPos(0)
		if err := fn(line, row); err != nil {
			return err
		}
	}
}

// errFound stops Rows at the row Row looks for.
var errFound = errors.New("found")

// Row returns the sample CSV's row whose network column is network, and
// its line number (see Rows).
func Row(network string) (map[string]string, int, error) {
	var row map[string]string
	var line int
	err := Rows(func(l int, r map[string]string) error {
		if r["network"] != network {
			return nil
		}
		row, line = r, l
		return errFound
	})
	if errors.Is(err, errFound) {
		return row, line, nil
	}
	if err == nil {
		err = fmt.Errorf("%s: no row for %s", CSV, network)
	}
	return nil, 0, err
}

// Stdout runs f and returns what it wrote to os.Stdout: for a test that
// checks what an Example function prints against an independent source.
// It is not safe for concurrent use (it swaps os.Stdout).
func Stdout(f func()) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	defer func() { os.Stdout = old }()
	f()
	os.Stdout = old
	w.Close()
	out := <-done
	r.Close()
	return string(out), nil
}
