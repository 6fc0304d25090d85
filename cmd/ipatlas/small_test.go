package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/klauspost/compress/zstd"
)

// TestSmallThings holds issue 14's point 13, one subtest each.
func TestSmallThings(t *testing.T) {
	dir := t.TempDir()
	t.Run("Go-only number syntax", func(t *testing.T) {
		for _, c := range []struct{ col, val string }{
			{"latitude", "1_0"}, {"longitude", "0x1p3"}, {"confidence", "0x1p-1"}, {"country_confidence", "Inf"},
		} {
			in := writeFile(t, dir, "n.csv", "network,country_code,latitude,longitude,confidence,country_confidence\n1.2.3.0/24,CN,1,2,0.5,0.5\n")
			data, _ := os.ReadFile(in)
			lines := strings.Split(string(data), "\n")
			cols := strings.Split(lines[1], ",")
			for i, h := range strings.Split(lines[0], ",") {
				if h == c.col {
					cols[i] = c.val
				}
			}
			writeFile(t, dir, "n.csv", lines[0]+"\n"+strings.Join(cols, ",")+"\n")
			_, stderr, code := runCLI(t, "build", "--out", filepath.Join(dir, "n.mmdb"), in)
			if code != exitData || !strings.Contains(stderr, "n.csv:2: "+c.col) {
				t.Errorf("%s %s: exit %d, want %d naming n.csv:2: %s\n%s", c.col, c.val, code, exitData, c.col, stderr)
			}
		}
	})
	db := handMadeDB(t, dir, "h.mmdb", 6, map[string]format.Value{"1.2.3.0/24": format.Map{"a": format.String("x")}})
	t.Run("lookup of a compressed or foreign file", func(t *testing.T) {
		raw, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := zstd.NewWriter(nil)
		zst := writeFile(t, dir, "h.mmdb.zst", string(enc.EncodeAll(raw, nil)))
		for _, c := range []struct{ path, want string }{
			{zst, "zstd-compressed"},
			{writeFile(t, dir, "notes.txt", "hello\n"), "not a valid MaxMind DB"},
		} {
			_, stderr, code := runCLI(t, "lookup", c.path, "1.2.3.4")
			if code != exitData || !strings.Contains(stderr, c.path+": "+c.want) {
				t.Errorf("lookup %s: exit %d, stderr does not name the file and %q:\n%s", c.path, code, c.want, stderr)
			}
		}
	})
	t.Run("compile --zstd modes", func(t *testing.T) {
		out := filepath.Join(dir, "z.mmdb")
		mustRunCLI(t, exitOK, append([]string{"build", "--zstd", "--out", out}, sampleInputs...)...)
		for _, p := range []string{out, out + ".zst"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v, want 0644", filepath.Base(p), fi.Mode().Perm())
			}
		}
	})
	t.Run("a huge stdin line", func(t *testing.T) {
		cmd := exec.Command(ipatlasBin, "lookup", db)
		cmd.Stdin = strings.NewReader("1.2.3.4\n" + strings.Repeat("x", 1<<20) + "\n1.2.3.5\n")
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitData {
			t.Errorf("exit %v, want %d", err, exitData)
		}
		if !strings.Contains(e.String(), "standard input, line 2") || strings.Contains(e.String(), "token too long") {
			t.Errorf("stderr does not name standard input and the line:\n%s", e.String())
		}
		if strings.Count(o.String(), `"found":true`) != 2 {
			t.Errorf("the addresses around the long line are not both answered:\n%s", o.String())
		}
	})
	t.Run("empty store, empty database", func(t *testing.T) {
		store := filepath.Join(dir, "store")
		mustRunCLI(t, exitOK, "ingest", "--db", store, "--source", "a", writeFile(t, dir, "one.csv", "network,country_code\n1.2.3.0/24,CN\n"))
		mustRunCLI(t, exitOK, "sources", "--db", store, "--remove", "a")
		empty := filepath.Join(dir, "empty.mmdb")
		_, stderr := mustRunCLI(t, exitOK, "compile", "--db", store, "--out", empty)
		if !strings.Contains(stderr, "warning: "+empty+" answers no address") {
			t.Errorf("compile of an empty store does not warn:\n%s", stderr)
		}
		stdout, _ := mustRunCLI(t, exitOK, "lookup", empty, "1.2.3.4", "2001:db8::1")
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"network":"0.0.0.0/0"`) || !strings.Contains(lines[1], `"network":"::/1"`) {
			t.Errorf("lookups in an empty database:\n%s", stdout)
		}
	})
}
