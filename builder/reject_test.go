package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/kv"
)

// TestRejectedIngestLeavesStore: a file that does not land leaves the
// store's layers as they were: no empty layer for a new source, and the
// priority of an existing one unchanged; a file that lands sets both.
func TestRejectedIngestLeavesStore(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.csv", "network,country_code\n1.2.3.0/24,FR\n")
	bad := write("bad.csv", "network,country_code\n1.2.4.0/24,FR\nnot-a-network,DE\n")
	layers := func() map[string]int32 {
		t.Helper()
		ls, err := st.Layers()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int32{}
		for _, l := range ls {
			m[l.Name] = l.Priority
		}
		return m
	}
	ctx := context.Background()
	if _, err := IngestFile(ctx, st, "a", 3, kv.Replace, bad, Options{}); err == nil {
		t.Fatal("bad file ingested")
	}
	if got := layers(); len(got) != 0 {
		t.Fatalf("after a rejected first file: layers %v, want none", got)
	}
	if _, err := IngestFile(ctx, st, "a", 1, kv.Replace, good, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := IngestFile(ctx, st, "a", 5, kv.Upsert, bad, Options{}); err == nil {
		t.Fatal("bad file ingested")
	}
	if got := layers(); len(got) != 1 || got["a"] != 1 {
		t.Fatalf("after a rejected file with priority 5: layers %v, want a at 1", got)
	}
	if _, err := IngestFile(ctx, st, "a", 5, kv.Upsert, write("more.csv", "network,country_code\n1.2.5.0/24,DE\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := layers(); got["a"] != 5 {
		t.Fatalf("after a landed file with priority 5: layers %v, want a at 5", got)
	}
}
