package builder

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

// readLines returns what ReadFile makes of each line of a JSONL file:
// "network record" per network, or the error (file name cut off).
func readLines(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	_, err := ReadFile(path, Options{SkipBadRows: false}, func(p netip.Prefix, rec []byte, line int) error {
		out = append(out, fmt.Sprintf("%s %x", p, rec))
		return nil
	})
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:] // drop the file:line, which differ
		}
		out = append(out, "error: "+msg)
	}
	return out
}

// TestJSONLLineMemo checks the JSONL memo line by line against a slow
// reference: each line read alone, in a file of its own, where no memo
// can answer. Lines share their text after the network, with networks
// good, bad, escaped (not memoized) and ranges.
func TestJSONLLineMemo(t *testing.T) {
	rest := `,"country":"China","country_code":"CN","city":"上海","province":"Shanghai","latitude":31.2,"longitude":121.5}`
	lines := []string{
		`{"network":"1.2.3.0/24"` + rest,
		`{"network":"1.2.4.0/24"` + rest,                          // memo hit
		`{"network":"1.2.5.0-1.2.6.255"` + rest,                   // hit, two networks
		`{"network":"1.2\u002e7.0/24"` + rest,                     // an escape: not memoized
		`{"network":"2001:db8::/32"` + rest,                       // hit, IPv6
		`{"network":" 1.2.8.0/24 "` + rest,                        // spaces, trimmed either way
		`{"network":"1.2.9.0/24","country_code":"JP"}`,            // another text after the network
		`{"network":"1.2.10.0/24","network":"1.2.11.0/24"` + rest, // repeated key
		`{"network":"1.2.12.999"` + rest,                          // hit with a bad network
	}
	dir := t.TempDir()
	for i, line := range lines {
		// The file up to and including this line, read with the memo,
		// must give for this line what the line alone gives.
		all := filepath.Join(dir, fmt.Sprintf("all%d.jsonl", i))
		writeFile(t, dir, filepath.Base(all), []byte(strings.Join(lines[:i+1], "\n")+"\n"))
		alone := filepath.Join(dir, fmt.Sprintf("alone%d.jsonl", i))
		writeFile(t, dir, filepath.Base(alone), []byte(line+"\n"))
		want := readLines(t, alone)
		got := readLines(t, all)
		if strings.HasPrefix(want[len(want)-1], "error: ") {
			// An error stops the file: the earlier lines are good ones.
			if got[len(got)-1] != want[len(want)-1] {
				t.Fatalf("line %d %s: with the memo %q, alone %q", i+1, line, got[len(got)-1], want[len(want)-1])
			}
			lines[i] = lines[0] // keep the later files going
			continue
		}
		if tail := got[len(got)-len(want):]; strings.Join(tail, "|") != strings.Join(want, "|") {
			t.Fatalf("line %d %s: with the memo %q, alone %q", i+1, line, tail, want)
		}
	}
}
