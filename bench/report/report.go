package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipatlas/ipatlas/bench/suite"
	"github.com/ipatlas/ipatlas/internal/atomicfile"
)

// Names of the files in a report directory.
const (
	ReportFile  = "report.md"
	ReadersJSON = "readers.json"
	BuildJSON   = "build.json"
)

// Save writes v as indented JSON to dir/name.
func Save(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, name), append(b, '\n'))
}

// Load reads the results kept in dir; a part that is not there is nil.
func Load(dir string) (*suite.ReadersResult, *suite.BuildResult, error) {
	var r *suite.ReadersResult
	var b *suite.BuildResult
	for _, f := range []struct {
		name string
		v    any
	}{
		{ReadersJSON, &suite.ReadersResult{}},
		{BuildJSON, &suite.BuildResult{}},
	} {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(data, f.v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, f.name), err)
		}
		switch v := f.v.(type) {
		case *suite.ReadersResult:
			r = v
		case *suite.BuildResult:
			b = v
		}
	}
	return r, b, nil
}

// savePlot draws a plot to a temporary file and renames it to dir/name.
func savePlot(dir, name string, draw func(path string) error) (err error) {
	tmp := filepath.Join(dir, "."+name+".tmp.svg")
	defer func() {
		// gonum/plot panics on some degenerate data (a log axis at 0).
		if e := recover(); e != nil {
			os.Remove(tmp)
			err = fmt.Errorf("plot %s: %v", name, e)
		}
	}()
	if err := draw(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("plot %s: %w", name, err)
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// Render writes dir/report.md and its plots from the results (either may
// be nil, not both).
func Render(dir string, r *suite.ReadersResult, b *suite.BuildResult) error {
	if r == nil && b == nil {
		return errors.New("no results to report")
	}
	var md strings.Builder
	md.WriteString("# ipatlas benchmark report\n\n")
	md.WriteString("Written by `ipatlas-bench`; every figure below comes from the run described with it (machine, command, commit). ")
	md.WriteString("The raw results are in readers.json and build.json beside this file.\n\n")
	if r != nil {
		if err := renderReaders(&md, dir, r); err != nil {
			return err
		}
	}
	if b != nil {
		if err := renderBuild(&md, dir, b); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(filepath.Join(dir, ReportFile), []byte(md.String()))
}

func machineTable(md *strings.Builder, m suite.Machine, took string) {
	fmt.Fprintf(md, "| | |\n|---|---|\n")
	fmt.Fprintf(md, "| command | `%s` |\n", m.Command)
	fmt.Fprintf(md, "| commit | %s |\n", m.Commit)
	fmt.Fprintf(md, "| date | %s (took %s) |\n", m.Date, took)
	fmt.Fprintf(md, "| CPU | %s, %d cores, GOMAXPROCS %d |\n", m.CPU, m.Cores, m.GOMAXPROCS)
	fmt.Fprintf(md, "| memory | %.1f GiB |\n", m.MemoryGiB)
	fmt.Fprintf(md, "| OS | %s |\n", m.OS)
	fmt.Fprintf(md, "| Go | %s |\n", m.GoVersion)
	fmt.Fprintf(md, "| load average (1, 5, 15 min) | before: %s; after: %s |\n\n", m.LoadBefore, m.LoadAfter)
}
