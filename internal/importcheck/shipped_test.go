package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// notShipped are the import paths (with everything below them) that the
// shipped ipatlas binary must not link, directly or through any package:
// the peer readers and writer that the benchmark suite and the tests
// compare against, the plotting library, and the suite itself. They
// belong to cmd/ipatlas-bench (issue 13: the binary was 42 MB with them).
var notShipped = []string{
	"gonum.org/v1/plot",
	"github.com/maxmind/mmdbwriter",
	"github.com/oschwald/maxminddb-golang",
	"github.com/oschwald/geoip2-golang",
	"github.com/ipatlas/ipatlas/bench",
}

// forbiddenDep matches path against the notShipped list: a path equal to
// an entry, or below it, or an entry's other major versions
// (maxminddb-golang/v2 is as forbidden as maxminddb-golang).
func forbiddenDep(path string) bool {
	for _, f := range notShipped {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// importChains returns, for each package of deps that forbidden matches,
// a chain of imports from root to it ("root -> a -> b"), found by a
// breadth-first search over deps (package -> direct imports).
func importChains(root string, deps map[string][]string, forbidden func(string) bool) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	var chains []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if forbidden(p) {
			chain := []string{p}
			for q := prev[p]; q != ""; q = prev[q] {
				chain = append(chain, q)
			}
			slices.Reverse(chain)
			chains = append(chains, strings.Join(chain, " -> "))
			continue // what it imports is reported through it
		}
		for _, imp := range deps[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(chains)
	return chains
}

// depGraph runs `go list -deps` on pkg at the module root and returns pkg's
// import path and the direct imports of every package it links.
func depGraph(t *testing.T, pkg string) (string, map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v%s", err, stderrOf(err))
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,DepOnly", pkg)
	cmd.Dir = strings.TrimSpace(string(out))
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v%s", pkg, err, stderrOf(err))
	}
	var root string
	deps := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			DepOnly    bool
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		deps[p.ImportPath] = p.Imports
		if !p.DepOnly {
			root = p.ImportPath
		}
	}
	if root == "" || len(deps) < 2 {
		t.Fatalf("go list -deps %s: no package or no dependencies (%d packages)", pkg, len(deps))
	}
	return root, deps
}

// TestShippedDeps: `go list -deps ./cmd/ipatlas` lists none of notShipped
// (no gonum, mmdbwriter, maxminddb-golang or geoip2-golang in the shipped
// binary); a failure names the chain of imports that brings each in.
// ./cmd/ipatlas-bench, which must link them, shows that the check sees
// them where they are.
func TestShippedDeps(t *testing.T) {
	root, deps := depGraph(t, "./cmd/ipatlas")
	t.Logf("%s links %d packages", root, len(deps))
	for _, chain := range importChains(root, deps, forbiddenDep) {
		t.Errorf("the shipped binary links a peer or benchmark package: %s (move the import to cmd/ipatlas-bench or a test file)", chain)
	}

	root, deps = depGraph(t, "./cmd/ipatlas-bench")
	// The search stops at the first forbidden package of a chain; past
	// bench/..., to see the peers behind it.
	peer := func(p string) bool { return forbiddenDep(p) && !match("github.com/ipatlas/ipatlas/bench/...", p) }
	chains := importChains(root, deps, peer)
	for _, want := range []string{"gonum.org/v1/plot", "github.com/maxmind/mmdbwriter", "github.com/oschwald/maxminddb-golang",
		"github.com/oschwald/maxminddb-golang/v2", "github.com/oschwald/geoip2-golang/v2"} {
		if !slices.ContainsFunc(chains, func(c string) bool { return strings.HasSuffix(c, " -> "+want) }) {
			t.Errorf("the check does not see %s in %s, which imports it:\n%s", want, root, strings.Join(chains, "\n"))
		}
	}
}

// TestImportChains tests the search on a hand-made graph.
func TestImportChains(t *testing.T) {
	deps := map[string][]string{
		"cmd":       {"fmt", "lib", "plot/vg"},
		"lib":       {"fmt", "peer/v2", "lib/inner"},
		"lib/inner": {"peer/v2/internal"},
		"peer/v2":   {"peer/v2/internal"},
		"plot/vg":   {"fmt"},
	}
	forbidden := func(p string) bool {
		return p == "peer/v2" || strings.HasPrefix(p, "peer/v2/") || strings.HasPrefix(p, "plot/")
	}
	got := importChains("cmd", deps, forbidden)
	want := []string{"cmd -> lib -> lib/inner -> peer/v2/internal", "cmd -> lib -> peer/v2", "cmd -> plot/vg"}
	if !slices.Equal(got, want) {
		t.Errorf("importChains = %q, want %q", got, want)
	}
	if got := importChains("fmt", deps, forbidden); len(got) != 0 {
		t.Errorf("a clean root: %q", got)
	}
	for path, want := range map[string]bool{
		"gonum.org/v1/plot/vg":                    true,
		"gonum.org/v1/plotter":                    false,
		"github.com/oschwald/maxminddb-golang":    true,
		"github.com/oschwald/maxminddb-golang/v2": true,
		"github.com/oschwald/geoip2-golang/v2":    true,
		"github.com/maxmind/mmdbwriter/mmdbtype":  true,
		"github.com/ipatlas/ipatlas/bench/suite":  true,
		"github.com/ipatlas/ipatlas/benchmark":    false,
		"github.com/ipatlas/ipatlas/reader":       false,
	} {
		if forbiddenDep(path) != want {
			t.Errorf("forbiddenDep(%q) = %v, want %v", path, !want, want)
		}
	}
}
