package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// peerMetadata reads a file's metadata with maxminddb-golang v2.
func peerMetadata(t *testing.T, path string) maxminddb.Metadata {
	t.Helper()
	r, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Metadata
}

// namesLocales walks JSON records (the export's lines) by hand and
// returns the keys of every object under a "names" key.
func namesLocales(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := map[string]bool{}
	var walk func(v any, names bool)
	walk = func(v any, names bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if names {
					set[k] = true
				} else {
					walk(x, k == "names")
				}
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var line struct {
			Record any `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		walk(line.Record, false)
	}
	return slices.Sorted(maps.Keys(set))
}

// TestRoundTripPlainJSONL is issue 14's point 7 on the sample: export to
// a plain .jsonl, build it back without --format, and the rebuild gives
// the same answers (diff exit 0) and keeps the metadata: database type,
// description and languages; languages are those the names carry when no
// flag sets them.
func TestRoundTripPlainJSONL(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.mmdb")
	mustRunCLI(t, exitOK, append([]string{"build", "--out", a, "--type", "GeoIP2-City",
		"--description", "sample of three models", "--description", "de=Stichprobe"}, sampleInputs...)...)
	rows := filepath.Join(dir, "rows.jsonl")
	mustRunCLI(t, exitOK, "export", a, "--out", rows)
	b := filepath.Join(dir, "b.mmdb")
	if _, stderr, code := runCLI(t, "build", "--out", b, rows); code != exitOK {
		t.Fatalf("build of an exported .jsonl: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "diff", a, b); code != exitOK {
		t.Errorf("diff of the original and the rebuild: exit %d\n%s", code, stderr)
	}
	ma, mb := peerMetadata(t, a), peerMetadata(t, b)
	wantLangs := namesLocales(t, rows)
	if len(wantLangs) < 3 {
		t.Fatalf("the sample's names carry only %v", wantLangs)
	}
	if !slices.Equal(ma.Languages, wantLangs) {
		t.Errorf("languages %v, want those the names carry: %v", ma.Languages, wantLangs)
	}
	wantDesc := map[string]string{"en": "sample of three models", "de": "Stichprobe"}
	if ma.DatabaseType != "GeoIP2-City" || !maps.Equal(ma.Description, wantDesc) {
		t.Errorf("original: type %q, description %v", ma.DatabaseType, ma.Description)
	}
	if mb.DatabaseType != ma.DatabaseType || !maps.Equal(mb.Description, ma.Description) || !slices.Equal(mb.Languages, ma.Languages) {
		t.Errorf("the rebuild lost the metadata: type %q description %v languages %v; the original has %q %v %v",
			mb.DatabaseType, mb.Description, mb.Languages, ma.DatabaseType, ma.Description, ma.Languages)
	}

	// Flags win over the exported metadata.
	c := filepath.Join(dir, "c.mmdb")
	mustRunCLI(t, exitOK, "build", "--out", c, "--type", "X-City", "--languages", "en,zh-CN", "--description", "other", rows)
	if mc := peerMetadata(t, c); mc.DatabaseType != "X-City" || !slices.Equal(mc.Languages, []string{"en", "zh-CN"}) ||
		!maps.Equal(mc.Description, map[string]string{"en": "other"}) {
		t.Errorf("flags did not win: %q %v %v", mc.DatabaseType, mc.Languages, mc.Description)
	}
	if _, stderr, code := runCLI(t, "build", "--out", c, "--languages", "en,1x", rows); code != exitUsage || !strings.Contains(stderr, "1x") {
		t.Errorf("--languages en,1x: exit %d, want %d naming it:\n%s", code, exitUsage, stderr)
	}
}

// TestDiffLimit: beyond --limit, diff says how many networks differ
// before printing and prints only the first --limit; the exit status is
// 1 (they differ), 2 only on trouble.
func TestDiffLimit(t *testing.T) {
	dir := t.TempDir()
	nets := map[string]format.Value{}
	for i := range 50 {
		nets[fmt.Sprintf("10.0.%d.0/24", 2*i)] = format.Map{"n": format.Uint32(i)}
	}
	a := handMadeDB(t, dir, "a.mmdb", 6, nets)
	b := handMadeDB(t, dir, "b.mmdb", 6, map[string]format.Value{"192.0.2.0/24": format.Map{"n": format.Uint32(1)}})
	stdout, stderr, code := runCLI(t, "diff", "--limit", "7", a, b)
	if code != exitData {
		t.Fatalf("exit %d, want %d\n%s", code, exitData, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 7 {
		t.Errorf("%d lines printed, want 7", n)
	}
	if !strings.Contains(stderr, "51 networks differ, more than --limit 7") {
		t.Errorf("stderr does not say how many differ beyond the limit:\n%s", stderr)
	}
	stdout, _, code = runCLI(t, "diff", "--limit", "0", a, b)
	if n := strings.Count(stdout, "\n"); n != 51 || code != exitData {
		t.Errorf("--limit 0: %d lines, exit %d; want 51, %d", n, code, exitData)
	}
	if _, _, code := runCLI(t, "diff", a, filepath.Join(dir, "none.mmdb")); code != exitUsage {
		t.Errorf("a missing file: exit %d, want %d", code, exitUsage)
	}
}
