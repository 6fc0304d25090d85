package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/kv"
)

// TestSourcesRemembered: a re-ingest without --priority or --levels keeps
// the source's (so it keeps winning, and its files still parse), a change
// is reported, 'sources' lists them, --remove deletes one, and a second
// process on the store is told the store is in use.
func TestSourcesRemembered(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "store")
	a1 := writeFile(t, dir, "a1.csv", "network,country,city\n1.2.3.0/24,France,Paris\n")
	a2 := writeFile(t, dir, "a2.csv", "network,country,city\n1.2.3.0/24,France,Lyon\n")
	b := writeFile(t, dir, "b.csv", "network,country\n1.2.3.0/24,Germany\n")
	mustRunCLI(t, exitOK, "ingest", "--db", db, "--source", "a", "--priority", "5", "--levels", "country,city", a1)
	mustRunCLI(t, exitOK, "ingest", "--db", db, "--source", "b", "--priority", "1", b)
	// Without flags: the levels and the priority of a are kept.
	if _, stderr, code := runCLI(t, "ingest", "--db", db, "--source", "a", a2); code != exitOK {
		t.Fatalf("re-ingest without --levels: exit %d\n%s", code, stderr)
	}
	city := func() string {
		out := filepath.Join(dir, "out.mmdb")
		mustRunCLI(t, exitOK, "compile", "--db", db, "--out", out)
		stdout, _ := mustRunCLI(t, exitOK, "lookup", "--path", "country.names.en", out, "1.2.3.4")
		return stdout
	}
	if got := city(); !strings.Contains(got, `"France"`) {
		t.Errorf("after a re-ingest without --priority, source a (priority 5) no longer wins: %s", got)
	}
	list := func() map[string]map[string]any {
		stdout, _ := mustRunCLI(t, exitOK, "sources", "--db", db, "--json")
		m := map[string]map[string]any{}
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			m[r["name"].(string)] = r
		}
		return m
	}
	got := list()
	if a := got["a"]; a == nil || a["priority"] != 5.0 || a["networks"] != 1.0 || a["last_rows"] != 1.0 ||
		strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(jsonText(a["levels"]), `"`, ""), "[]")), "") != "country,city" ||
		a["last_file"] != a2 || a["last_ingest"] == nil {
		t.Errorf("sources: a = %v", a)
	}
	// A change of priority alone is done and said, even when the file
	// itself was ingested before.
	stdout, _ := mustRunCLI(t, exitOK, "ingest", "--db", db, "--source", "a", "--priority", "0", a2)
	if !strings.Contains(stdout, "priority 5 -> 0") || strings.Contains(stdout, "nothing to do") {
		t.Errorf("ingest --priority 0 of an ingested file says:\n%s", stdout)
	}
	if got := list(); got["a"]["priority"] != 0.0 {
		t.Errorf("priority not changed: %v", got["a"])
	}
	if got := city(); !strings.Contains(got, `"Germany"`) {
		t.Errorf("source b (priority 1) does not win over a (priority 0): %s", got)
	}
	// Remove b: a answers again.
	mustRunCLI(t, exitOK, "sources", "--db", db, "--remove", "b")
	if got := list(); got["b"] != nil || got["a"] == nil {
		t.Errorf("after --remove b: %v", got)
	}
	if got := city(); !strings.Contains(got, `"France"`) {
		t.Errorf("after removing b: %s", got)
	}
	if _, stderr, code := runCLI(t, "sources", "--db", db, "--remove", "nope"); code != exitData || !strings.Contains(stderr, `no source "nope"`) {
		t.Errorf("--remove of a missing source: exit %d\n%s", code, stderr)
	}

	// A second process.
	st, err := kv.Open(db, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"ingest", "--db", db, "--source", "a", a1}, {"compile", "--db", db, "--out", filepath.Join(dir, "x.mmdb")}} {
		if _, stderr, code := runCLI(t, args...); code != exitData || !strings.Contains(stderr, "in use by another ipatlas process") {
			t.Errorf("%s on a store in use: exit %d\n%s", args[0], code, stderr)
		}
	}
	st.Close()
	_, help, _ := runCLI(t, "compile", "--help")
	if strings.Contains(help, "may go on") || !strings.Contains(help, "locked") {
		t.Errorf("compile --help on concurrent ingests:\n%s", help)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
