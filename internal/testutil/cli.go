package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildCommand builds the Go command pkg (a package path as `go build`
// takes it: ".", "../ipatlas") into a new temporary folder, as name, for
// the tests that run a command as its users do. It returns the binary's
// path and a function that removes the folder; on error nothing is left.
// It takes no testing.TB: TestMain calls it before m.Run.
func BuildCommand(pkg, name string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		return "", nil, fmt.Errorf("building %s: %w", pkg, err)
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	return bin, remove, nil
}
