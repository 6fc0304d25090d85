package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"512MiB", 512 << 20, true},
		{"1.5G", 3 << 29, true},
		{"2gb", 2 << 30, true},
		{"off", -1, true},
		{"OFF", -1, true},
		{"134217728", 128 << 20, true},
		{"1MiB", 0, false}, // too small
		{"10XB", 0, false},
		{"", 0, false},
		{"-1GiB", 0, false},
		{"GiB", 0, false},
	} {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestMemoryLimitDocumented: the heavy commands' --help says how to bound
// memory, the top-level help mentions it, and a bad size is a usage error.
func TestMemoryLimitDocumented(t *testing.T) {
	for _, cmd := range []string{"build", "ingest", "compile"} {
		var out, errb bytes.Buffer
		if code := run([]string{cmd, "--help"}, &out, &errb); code != exitOK {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		if h := errb.String(); !strings.Contains(h, "-memory-limit") || !strings.Contains(h, "GOMEMLIMIT") {
			t.Errorf("%s --help does not document --memory-limit:\n%s", cmd, h)
		}
	}
	var out, errb bytes.Buffer
	run([]string{"help"}, &out, &errb)
	if !strings.Contains(out.String(), "--memory-limit") {
		t.Errorf("help does not mention --memory-limit:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"compile", "--db", t.TempDir(), "--out", "x.mmdb", "--memory-limit", "lots"}, &out, &errb); code != exitUsage {
		t.Errorf("--memory-limit lots: exit %d (%s), want %d", code, errb.String(), exitUsage)
	}
}
