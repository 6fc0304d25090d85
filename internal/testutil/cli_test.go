package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildCommand builds a one-file command and runs it; a package that
// does not build is an error naming it, and leaves no folder behind.
func TestBuildCommand(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	src := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(src)
	bin, remove, err := BuildCommand(".", "hello")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil || string(out) != "hello\n" {
		t.Errorf("the built command: %q, %v", out, err)
	}
	remove()
	if _, err := os.Stat(filepath.Dir(bin)); !os.IsNotExist(err) {
		t.Errorf("remove left %s (stat: %v)", filepath.Dir(bin), err)
	}

	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, _, err = BuildCommand(".", "broken")
	if err == nil || !strings.Contains(err.Error(), "building .") || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("BuildCommand of a broken package: %q, %v; want an error naming it and the compiler's message", bin, err)
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "broken-test-*"))
	if len(left) > 0 {
		t.Errorf("a failed build left %q", left)
	}
}
