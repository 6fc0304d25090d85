package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/bench/inference"
)

// small is the configuration of the quick tests.
var small = inference.Config{Seed: 7, IPv4Count: 2048, IPv6: 500, Combos: 5000}

// generateSmall writes the small input into dir and returns the paths.
func generateSmall(t *testing.T, c inference.Config, dir string) (csvPath, jsonPath string) {
	t.Helper()
	csvPath, jsonPath = filepath.Join(dir, "rows.csv.gz"), filepath.Join(dir, "rows.jsonl.gz")
	res, err := inference.Generate(c, csvPath, jsonPath, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != c.Rows() || res.CSVBytes == 0 || res.JSONBytes == 0 {
		t.Fatalf("generate: %+v", res)
	}
	return csvPath, jsonPath
}

// TestEndToEnd generates a small input, ingests each file with builder
// into a store of its own, compiles each store with compile, and checks the
// outputs as `buildbench check` does.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	csvPath, jsonPath := generateSmall(t, small, dir)
	for _, in := range []string{csvPath, jsonPath} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			db := filepath.Join(dir, filepath.Base(in)+".db")
			var out bytes.Buffer
			if err := run([]string{"profile-ingest", "-db", db, in}, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			mmdb := filepath.Join(dir, filepath.Base(in)+".mmdb")
			if err := run([]string{"profile-compile", "-db", db, "-out", mmdb}, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "2548 rows, 2548 networks") || !strings.Contains(out.String(), "from 2548 stored") {
				t.Errorf("unexpected output:\n%s", out.String())
			}
			out.Reset()
			args := []string{"check", "-seed", "7", "-ipv4-count", "2048", "-ipv6", "500", "-combos", "5000", "-samples", "20000", mmdb}
			if err := run(args, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), "check ok") {
				t.Errorf("check: %s", out.String())
			}
		})
	}
}
