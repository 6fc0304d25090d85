package main

import (
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUsage(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, 0, "Usage: loadgen"},
		{"argument", []string{"x"}, 2, `unexpected argument "x"`},
		{"no clients", []string{"-c", "0"}, 2, "-c must be at least 1"},
		{"no duration", []string{"-d", "0s"}, 2, "-d must be positive"},
		{"batch too large", []string{"--batch", "1001"}, 2, "--batch must be 0 to 1000"},
		{"v6 share", []string{"--v6", "1.5"}, 2, "--v6 must be in [0,1]"},
		{"reload file alone", []string{"--reload-file", "x.mmdb"}, 2, "go together"},
		{"one reload file", []string{"--reload-file", "x.mmdb", "--reload-with", "a.mmdb"}, 2, "takes two files"},
		{"unknown flag", []string{"--bogus"}, 2, "bogus"},
		{"nothing listening", []string{"--url", "http://127.0.0.1:1", "--wait", "100ms", "-d", "1s"}, 1, "did not answer 200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run(c.args, io.Discard, &stderr); code != c.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.stderr) {
				t.Errorf("stderr does not say %q:\n%s", c.stderr, stderr.String())
			}
		})
	}
}

// TestRandomAddr checks the address mix: the asked share of IPv6, all
// of it in 2000::/3, and the same sequence for the same seed.
func TestRandomAddr(t *testing.T) {
	global := netip.MustParsePrefix("2000::/3")
	for _, share := range []float64{0, 0.1, 1} {
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		v6 := 0
		for range n {
			a := randomAddr(rng, share)
			if a.Is6() {
				v6++
				if !global.Contains(a) {
					t.Fatalf("IPv6 address %s outside 2000::/3", a)
				}
			} else if !a.Is4() {
				t.Fatalf("%s is neither IPv4 nor IPv6", a)
			}
		}
		if got := float64(v6) / n; got < share-0.01 || got > share+0.01 {
			t.Errorf("share %g: %.3f of the addresses are IPv6", share, got)
		}
	}
	a := randomAddr(rand.New(rand.NewPCG(7, 7)), 0.5)
	if b := randomAddr(rand.New(rand.NewPCG(7, 7)), 0.5); a != b {
		t.Errorf("same seed, different addresses: %s, %s", a, b)
	}
}

// TestReplace checks that a swap puts the source's content at the
// destination under a new version (inode or mtime) each time, and leaves
// no temporary file behind.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	a, b, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "dst")
	for _, f := range []struct{ path, content string }{{a, "AAAA"}, {b, "BBBB"}, {dst, "old"}} {
		if err := os.WriteFile(f.path, []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var versions []os.FileInfo
	for i, src := range []string{a, b, a, b} {
		if err := replace(dst, src); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		want, _ := os.ReadFile(src)
		if err != nil || string(got) != string(want) {
			t.Fatalf("swap %d: dst holds %q (%v), want %q", i, got, err, want)
		}
		fi, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		for j, old := range versions {
			if os.SameFile(old, fi) && old.ModTime().Equal(fi.ModTime()) {
				t.Errorf("swap %d looks like swap %d (same inode and mtime)", i, j)
			}
		}
		versions = append(versions, fi)
		time.Sleep(10 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the directory, want a, b and dst", len(entries))
	}
}
