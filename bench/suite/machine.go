package suite

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine describes where and when a benchmark ran.
type Machine struct {
	CPU        string  // model name
	Cores      int     // runtime.NumCPU
	GOMAXPROCS int     // at the start
	MemoryGiB  float64 // total RAM
	GoVersion  string
	OS         string // GOOS/GOARCH and the kernel release
	LoadBefore string // /proc/loadavg's three averages at the start
	LoadAfter  string // and at the end
	Date       string // UTC, RFC 3339, at the start
	Commit     string // git describe of the checkout, when there is one
	Command    string // the exact command line
}

// describeMachine fills everything but LoadAfter.
func describeMachine(command string) Machine {
	m := Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		LoadBefore: loadAvg(),
		Date:       time.Now().UTC().Format(time.RFC3339),
		Commit:     gitCommit(),
		Command:    command,
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	m.MemoryGiB = memTotalGiB()
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotalGiB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib := 0.0
			for _, f := range strings.Fields(rest) {
				if n, ok := parseFloat(f); ok {
					kib = n
					break
				}
			}
			return kib / (1 << 20)
		}
	}
	return 0
}

// loadAvg returns the three load averages, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// gitCommit describes the checkout the command runs in, if any.
func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown (not run in a git checkout)"
	}
	return strings.TrimSpace(string(out))
}
