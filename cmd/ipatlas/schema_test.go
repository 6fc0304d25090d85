package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInputSchemaDocumented: build --help and the README document every
// input column, the regions shape, the parent rule and --levels, with
// examples that build (the README's blocks run in TestREADMEExamples;
// the help's JSONL example is built here).
func TestInputSchemaDocumented(t *testing.T) {
	_, help, code := runCLI(t, "build", "--help")
	if code != exitOK {
		t.Fatalf("build --help: exit %d", code)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"network", "L_code", "L_confidence", "latitude", "longitude", "accuracy_radius_km",
		"confidence", "source", "model_version", "names_lang", `"regions":[{"level":"country"`,
		"country, province, city, district, street, community", "needs its parent", "--levels country,city",
		"--skip-bad-rows", "--extra", "first 100"} {
		if !strings.Contains(help, w) {
			t.Errorf("build --help does not say %q", w)
		}
		if !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(string(readme), "`", "")), " "), w) {
			t.Errorf("README.md does not say %q", w)
		}
	}
	// The JSONL example of the help builds.
	_, ex, _ := strings.Cut(inputSchemaHelp, "  {\"network\"")
	ex, _, _ = strings.Cut(ex, "\n\n")
	ex = "{\"network\"" + strings.Join(strings.Fields(ex), "")
	dir := t.TempDir()
	in := filepath.Join(dir, "ex.jsonl")
	if err := os.WriteFile(in, []byte(ex+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "build", "--out", filepath.Join(dir, "ex.mmdb"), in); code != exitOK {
		t.Errorf("the help's JSONL example %s: exit %d\n%s", ex, code, stderr)
	}
}

// TestRejectHints: a rejected input lists its bad rows (up to 100) and
// suggests the fix.
func TestRejectHints(t *testing.T) {
	dir := t.TempDir()
	var many strings.Builder
	many.WriteString("network,country_code\n")
	for i := range 150 {
		fmt.Fprintf(&many, "10.0.%d.0/33,CN\n", i)
	}
	out := filepath.Join(dir, "out.mmdb")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"no parent", []string{writeFile(t, dir, "cities.csv", "network,country,city\n1.2.3.0/24,France,Paris\n1.2.4.0/24,France,Lyon\n")},
			[]string{"cities.csv:2: city", "cities.csv:3: city", "--levels country,city,district,street,community", "--skip-bad-rows"}},
		{"raw as jsonl", []string{"--format", "jsonl", writeFile(t, dir, "rows.ndjson", `{"network":"1.2.3.0/24","record":{"a":1}}`+"\n")},
			[]string{"rows.ndjson:1: record", "--format raw"}},
		{"unknown column", []string{writeFile(t, dir, "colour.csv", "network,country,colour\n1.2.3.0/24,China,red\n")},
			[]string{"colour.csv:1: colour", "--extra colour"}},
		{"100 bad rows", []string{writeFile(t, dir, "many.csv", many.String())},
			[]string{"many.csv:2: network", "many.csv:101: network", "stopped at 100 bad rows"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"build", "--out", out}, c.args...)...)
			if code != exitData {
				t.Fatalf("exit %d, want %d\n%s", code, exitData, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%.2000s", w, stderr)
				}
			}
			if strings.Contains(stderr, "many.csv:102:") {
				t.Errorf("more than 100 bad rows listed")
			}
		})
	}
}
