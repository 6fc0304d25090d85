package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// freshCheckout copies the repository's tracked files, as they are in the
// working tree, into a new folder with ../shared beside it and no data/:
// what a newcomer has after git clone. It returns the copy's root.
func freshCheckout(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not found")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	base := t.TempDir()
	repo := filepath.Join(base, "repo")
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or the data/ symlink
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(repo, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if shared, err := filepath.Abs(filepath.Join(root, "..", "shared")); err == nil {
		if _, err := os.Stat(shared); err == nil {
			if err := os.Symlink(shared, filepath.Join(base, "shared")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "data")); !os.IsNotExist(err) {
		t.Fatalf("the copy has a data/ (stat: %v)", err)
	}
	return repo
}

// newcomerEnv is the environment of a new user: not CI, staticcheck not
// installed (GOBIN is an empty folder, not on PATH), go on PATH.
func newcomerEnv(t *testing.T) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CI", "PATH", "GOBIN", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+filepath.Dir(goBin)+":/usr/local/bin:/usr/bin:/bin",
		"GOBIN="+t.TempDir())
}

func runIn(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestFreshCheckout is issue 14's points 14 and 15 as a newcomer meets
// them: on a clone without data/, the mmdblookup comparison skips its
// GeoLite2 part instead of failing, and `scripts/test.sh --setup-only`
// (the setup that `bash scripts/test.sh` runs first) installs the pinned
// staticcheck and the data, then says in one line that all is in place.
func TestFreshCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the repository and runs go test and the setup script (-short)")
	}
	repo := freshCheckout(t)
	env := newcomerEnv(t)

	t.Run("lookup test without data", func(t *testing.T) {
		out, err := runIn(t, repo, env, "go", "test", "-count=1", "-run", "^TestLookupPathAgainstMmdblookup$", "./cmd/ipatlas")
		if err != nil {
			t.Fatalf("go test without data/ failed: %v\n%s", err, out)
		}
	})

	t.Run("setup installs what is missing", func(t *testing.T) {
		if _, err := exec.LookPath("npm"); err != nil && os.Getenv("CI") != "true" {
			t.Skip("npm not found: the setup cannot fetch the data")
		}
		gobin := strings.TrimPrefix(env[len(env)-1], "GOBIN=")
		out, err := runIn(t, repo, env, "bash", "scripts/test.sh", "--setup-only")
		if err != nil {
			t.Fatalf("setup failed: %v\n%s", err, out)
		}
		for _, f := range []string{filepath.Join(gobin, "staticcheck"), filepath.Join(repo, "data", "GeoLite2-City.mmdb")} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("setup did not install %s: %v\n%s", f, err, out)
			}
		}
		if !strings.Contains(out, "setup: installed") {
			t.Errorf("setup does not say what it installed:\n%s", out)
		}
		again, err := runIn(t, repo, env, "bash", "scripts/test.sh", "--setup-only")
		if err != nil {
			t.Fatalf("second setup failed: %v\n%s", err, again)
		}
		if lines := strings.Count(again, "\n"); lines != 1 || !strings.Contains(again, "in place") {
			t.Errorf("second setup printed %d lines, want one saying all is in place:\n%s", lines, again)
		}
	})

	t.Run("CI runs the same command", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(repo, ".ci", "run"))
		if err != nil {
			t.Fatal(err)
		}
		ci := string(b)
		if !strings.Contains(ci, "bash scripts/test.sh") {
			t.Error(".ci/run does not run scripts/test.sh")
		}
		for _, s := range []string{"apt-get", "go install", "fetch-data"} {
			if strings.Contains(ci, s) {
				t.Errorf(".ci/run still has install logic of its own (%q): it belongs in scripts/setup.sh", s)
			}
		}
	})
}
