package reader

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// hotInlined lists the functions of the lookup hot path (lookup, Result
// accessors, Handle, the decoder's per-value helpers and caches, the
// typed record cache, and format's helpers they call) that must stay inlinable: a change that pushes one
// over the compiler's budget adds a call to every lookup or value, and
// this test names it, as bart's does.
var hotInlined = map[string][]string{
	".": {
		"Result.Found", "Result.Offset", "Result.Err", "Result.ipv4PrefixLen", "Result.decodable",
		"(*Reader).hasIPv4Subtree", "(*Reader).resolveDataPointer", "(*Reader).LookupOffset",
		"(*Handle).Lookup", "(*Handle).Reader",
		"(*decoder).payload", "(*decoder).checkContainer", "(*decoder).offsetOf", "(*decoder).newState",
		"(*plan).lookupField", "(*skipCache).get", "(*skipCache).put", "(*mapCache).get",
		"(*decoder).ctrl", "offsetSlot", "setUint", "setInt", "storeInt", "finish",
	},
	// format's byte layer and tree rules, as the reader calls them.
	"../format": {
		"ExpansionLimit", "SizeValid", "(*Tree).Children", "(*Tree).DataOffset", "(*Tree).IsAlias",
	},
	"./geoip2": {
		"(*model[github.com/ipatlas/ipatlas/schema.City]).shared",
		"(*cache[github.com/ipatlas/ipatlas/schema.City]).get",
		"(*cache[github.com/ipatlas/ipatlas/schema.City]).setOf",
		"cloneCity", "cloneLocation",
	},
}

// TestHotPathInlines builds the packages with -gcflags=-m and checks that
// the compiler reports every function of hotInlined as inlinable.
func TestHotPathInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	gobin, err := exec.LookPath("go")
	testutil.Need(t, "the go command", err, "put go on PATH")
	canInline := regexp.MustCompile(`: can inline (\S+)`)
	for pkg, funcs := range hotInlined {
		out, err := exec.Command(gobin, "build", "-gcflags=-m", "-o", os.DevNull, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build -gcflags=-m %s: %v\n%s", pkg, err, out)
		}
		inlinable := map[string]bool{}
		for _, m := range canInline.FindAllStringSubmatch(string(out), -1) {
			inlinable[m[1]] = true
		}
		if len(inlinable) == 0 {
			t.Fatalf("go build -gcflags=-m %s reported nothing inlinable: is the output format still ': can inline NAME'?\n%s", pkg, out)
		}
		var lost []string
		for _, f := range funcs {
			if !inlinable[f] {
				lost = append(lost, f)
			}
		}
		if len(lost) > 0 {
			t.Errorf("%s: no longer inlinable: %s (see go build -gcflags=-m=2 %s for the cost)", pkg, strings.Join(lost, ", "), pkg)
		}
	}
}
