package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release, set at link time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/ipatlas
//
// Without it, the module version of a 'go install ...@version' build, or
// "devel", is printed.
var version = ""

// versionString is what --version prints: the version, the commit and
// its time (with "+dirty" when the tree had changes), the Go version and
// the platform, from the build information Go records in the binary.
func versionString() string {
	v, rev, when, dirty := version, "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	s := "ipatlas " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		s += " (commit " + rev
		if when != "" {
			s += ", " + when
		}
		s += ")"
	}
	return s + fmt.Sprintf(" %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
