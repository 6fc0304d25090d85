package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// Special entries of rule.allow.
const (
	std      = "std" // the standard library (and cgo's "C")
	anything = "*"   // any import at all
)

// rule says what the packages matching pkg may import directly.
//
// Patterns name module packages relative to the module root ("format" is
// github.com/ipatlas/ipatlas/format) and outside packages by full path (their
// first element has a dot: "golang.org/x/sys"). A trailing "/..." matches the
// path and everything below it. A package may always import packages of its
// own pattern (reader/... may import reader/internal/mmap).
type rule struct {
	pkg   string
	allow []string
	// testOnly: no non-test file outside pkg may import these packages
	// (test helpers, with peer readers, must not reach a binary).
	testOnly bool
}

// rules is README.md's layout table ("may import"), first match wins.
var rules = []rule{
	// format and kv share internal/keycache (std only), the bounded memo
	// of records seen lately.
	{pkg: "format/...", allow: []string{std, "internal/keycache"}},
	// schema is the record model over format's values; mmdbjson the
	// lossless JSON form of those values (issue 13: format split by job).
	{pkg: "schema/...", allow: []string{std, "format/..."}},
	{pkg: "mmdbjson/...", allow: []string{std, "format/..."}},
	// reader/geoip2's models are schema's typed record model.
	{pkg: "reader/geoip2/...", allow: []string{std, "reader/...", "schema/..."}},
	// reader maps files and index memory through internal/mmapfile.
	{pkg: "reader/...", allow: []string{std, "format/...", "internal/mmapfile", "golang.org/x/sys/..."}},
	{pkg: "kv/...", allow: []string{std, "format/...", "internal/keycache", "github.com/cockroachdb/pebble/..."}},
	// builder and compile reach Pebble only through kv. klauspost/compress
	// reads .gz/.zst inputs (builder) and writes .mmdb.zst (compile).
	// gazetteer reads MMDBs through reader, never Pebble; builder labels
	// rows with it; internal/geo is the shared great-circle geometry;
	// internal/atomicfile writes files whole (temp, fsync, rename, fsync
	// of the folder).
	{pkg: "gazetteer/...", allow: []string{std, "format/...", "schema/...", "reader/...", "internal/geo", "internal/atomicfile"}},
	{pkg: "builder/...", allow: []string{std, "kv/...", "format/...", "schema/...", "mmdbjson/...", "gazetteer/...", "internal/geo", "github.com/klauspost/compress/..."}},
	{pkg: "compile/...", allow: []string{std, "kv/...", "format/...", "schema/...", "internal/geo", "internal/atomicfile", "github.com/klauspost/compress/..."}},
	{pkg: "bench/...", allow: []string{anything}},
	// serve is the embeddable HTTP lookup service (issue 13): it reads
	// databases only through reader (never Pebble, never a peer reader),
	// encodes records with recordjson (the encoder lookup prints with),
	// exposes metrics through client_golang (prometheus/...) and gzips
	// answers with klauspost/compress, both already linked by the CLI.
	{pkg: "serve/...", allow: []string{std, "reader/...", "internal/recordjson", "internal/recordpath", "github.com/prometheus/...", "github.com/klauspost/compress/..."}},
	{pkg: "cmd/ipatlas/...", allow: []string{anything}},
	// The benchmark suite's command; the peers stay out of cmd/ipatlas
	// (TestShippedDeps).
	{pkg: "cmd/ipatlas-bench/...", allow: []string{anything}},
	// mmdbtree maps the files it walks; it opens them with reader's
	// non-blocking regular-file check (reader.OpenRegular).
	{pkg: "internal/mmdbtree/...", allow: []string{std, "format/...", "reader/...", "internal/mmapfile"}},
	// recordpath reads values of records by lookup's path syntax.
	{pkg: "internal/recordpath/...", allow: []string{std, "reader/..."}},
	// eval measures databases against ground truth: it reads them with
	// reader, walks them with mmdbtree, reads truth files with builder's
	// readers and plots with svgplot (not bench/report: no gonum in the
	// ipatlas binary).
	{pkg: "eval/...", allow: []string{std, "format/...", "schema/...", "reader/...", "builder/...", "internal/mmdbtree/...", "internal/svgplot/...", "internal/recordpath/...", "internal/geo/...", "internal/atomicfile"}},
	// mmdbtool is export, diff, verify and inspect as a library: it walks
	// files with mmdbtree, reads them with reader (verify and inspect take
	// any file the drop-in reader opens) and maps them with internal/mmapfile.
	{pkg: "mmdbtool/...", allow: []string{std, "format/...", "mmdbjson/...", "reader/...", "internal/mmdbtree/...", "internal/mmapfile"}},
	// mmapfile maps files for reader, mmdbtree and mmdbtool.
	{pkg: "internal/mmapfile", allow: []string{std, "golang.org/x/sys/..."}},
	// servetest is imported only by the tests of serve and cmd/ipatlas
	// (testOnly); it parses /metrics with Prometheus's own parser.
	{pkg: "internal/servetest", allow: []string{std, "github.com/prometheus/..."}, testOnly: true},
	// sampledb compiles testdata/sample for examples and tests (test
	// support; no command links it).
	{pkg: "internal/sampledb/...", allow: []string{std, "builder/...", "compile/...", "kv/..."}},
	// testutil is the tests' shared helpers: data locators, the
	// skip-or-fail rule and the peer-reader oracles. It imports no module
	// package (format's and reader's internal tests use it), and only
	// tests may import it.
	{pkg: "internal/testutil/...", allow: []string{std, "github.com/oschwald/maxminddb-golang/v2/..."}, testOnly: true},
	{pkg: "internal/...", allow: []string{std, "format/..."}},
}

// testOnlyRule returns the test-only rule covering imp, or nil.
func testOnlyRule(module string, rules []rule, imp string) *rule {
	for i := range rules {
		if rules[i].testOnly && match(full(module, rules[i].pkg), imp) {
			return &rules[i]
		}
	}
	return nil
}

// goPackage is the part of `go list -json` output the check reads.
type goPackage struct {
	ImportPath string
	Imports    []string // direct imports of the non-test Go files
}

// isStd reports whether an import path is in the standard library: its first
// element has no dot ("net/netip", "unsafe", cgo's "C").
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// match reports whether path matches pattern; both are full import paths.
func match(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// full turns a table pattern into a full import path pattern.
func full(module, pattern string) string {
	if pattern == std || pattern == anything || !isStd(pattern) {
		return pattern
	}
	return module + "/" + pattern
}

// allowed reports whether a package under rule r may import imp.
func allowed(module string, r rule, imp string) bool {
	if match(full(module, r.pkg), imp) {
		return true
	}
	for _, a := range r.allow {
		switch {
		case a == anything:
			return true
		case a == std:
			if isStd(imp) {
				return true
			}
		case match(full(module, a), imp):
			return true
		}
	}
	return false
}

// checkImports returns one message per package without a rule and per
// import that its rule does not allow. Packages outside module are ignored.
func checkImports(module string, rules []rule, pkgs []goPackage) []string {
	var problems []string
	for _, p := range pkgs {
		if p.ImportPath != module && !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			rel = "."
		}
		var r *rule
		for i := range rules {
			if match(full(module, rules[i].pkg), p.ImportPath) {
				r = &rules[i]
				break
			}
		}
		if r == nil {
			problems = append(problems, fmt.Sprintf(
				"%s: no import rule covers this package; add its folder to README.md's layout table and to rules in internal/importcheck", rel))
			continue
		}
		for _, imp := range p.Imports {
			if to := testOnlyRule(module, rules, imp); to != nil && !match(full(module, to.pkg), p.ImportPath) {
				problems = append(problems, fmt.Sprintf("%s imports %s, which only tests may import",
					rel, imp))
				continue
			}
			if !allowed(module, *r, imp) {
				problems = append(problems, fmt.Sprintf("%s imports %s, but %s may import only %s",
					rel, imp, r.pkg, strings.Join(r.allow, ", ")))
			}
		}
	}
	return problems
}

// listPackages runs `go list -json ./...` at the module root.
func listPackages(t *testing.T) (module string, pkgs []goPackage) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}}\t{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v%s", err, stderrOf(err))
	}
	module, dir, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if !ok || module == "" || dir == "" {
		t.Fatalf("go list -m: unexpected output %q", out)
	}
	// -e: a package that does not compile yet is still listed with its imports.
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...")
	cmd.Dir = dir
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list -json ./... in %s: %v%s", dir, err, stderrOf(err))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return module, pkgs
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}

// TestImportDirections checks the module's real packages against rules.
func TestImportDirections(t *testing.T) {
	module, pkgs := listPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("go list ./... found no package")
	}
	for _, p := range pkgs {
		t.Logf("checked %s (%d imports)", p.ImportPath, len(p.Imports))
	}
	for _, problem := range checkImports(module, rules, pkgs) {
		t.Error(problem)
	}
}

// TestCheckImports tests the checker itself on synthetic package lists.
func TestCheckImports(t *testing.T) {
	const m = "example.com/mod"
	pkg := func(path string, imports ...string) goPackage {
		return goPackage{ImportPath: path, Imports: imports}
	}
	tests := []struct {
		name string
		pkgs []goPackage
		want []string // one substring per expected problem, in order
	}{
		{
			name: "allowed directions",
			pkgs: []goPackage{
				pkg(m+"/format", "encoding/binary", "net/netip", "unsafe", "C"),
				pkg(m+"/format/internal/varint", "math/bits"),
				pkg(m+"/reader", "os", m+"/format", m+"/reader/internal/mmap", "golang.org/x/sys/unix"),
				pkg(m+"/kv", m+"/format", "github.com/cockroachdb/pebble", "github.com/cockroachdb/pebble/vfs"),
				pkg(m+"/builder", m+"/kv", m+"/format", "github.com/klauspost/compress/zstd"),
				pkg(m+"/compile", m+"/kv", m+"/format", "github.com/klauspost/compress/zstd"),
				pkg(m+"/bench", m+"/reader", m+"/compile", "github.com/oschwald/maxminddb-golang/v2"),
				pkg(m+"/cmd/ipatlas", m+"/builder", m+"/reader", "github.com/cockroachdb/pebble"),
				pkg(m+"/internal/testutil", "testing", "github.com/oschwald/maxminddb-golang/v2"),
				pkg(m+"/internal/testutil/sub", m+"/internal/testutil"),
				pkg("other.org/elsewhere", "github.com/anything/at/all"), // not in the module
			},
		},
		{
			name: "violations",
			pkgs: []goPackage{
				pkg(m+"/format", "fmt", m+"/reader"),
				pkg(m+"/reader", m+"/format", "github.com/cockroachdb/pebble", "golang.org/x/sysfoo"),
				pkg(m+"/builder", m+"/kv", "github.com/cockroachdb/pebble"),
				pkg(m+"/compile", m+"/reader"),
				pkg(m+"/kv", m+"/builder"),
				pkg(m+"/internal/helper", m+"/kv"),
				pkg(m+"/cmd/ipatlas", m+"/internal/testutil"),
				pkg(m+"/internal/testutil", m+"/format"),
				pkg(m + "/formatter"),
				pkg(m),
			},
			want: []string{
				"format imports example.com/mod/reader",
				"reader imports github.com/cockroachdb/pebble",
				"reader imports golang.org/x/sysfoo",
				"builder imports github.com/cockroachdb/pebble",
				"compile imports example.com/mod/reader",
				"kv imports example.com/mod/builder",
				"internal/helper imports example.com/mod/kv",
				"cmd/ipatlas imports example.com/mod/internal/testutil, which only tests may import",
				"internal/testutil imports example.com/mod/format",
				"formatter: no import rule",
				".: no import rule",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkImports(m, rules, tt.pkgs)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
