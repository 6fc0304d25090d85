package sampledb

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRows: Rows gives every data row with its line, as a plain scan of
// the file's lines finds them (the sample has no quoted newlines), and
// Row finds one by network or says it is missing.
func TestRows(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, CSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lineOf := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if n > 1 {
			network, _, _ := strings.Cut(sc.Text(), ",")
			lineOf[network] = n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	rows := 0
	err = Rows(func(line int, row map[string]string) error {
		rows++
		if lineOf[row["network"]] != line {
			t.Errorf("%s: line %d, the file has it on line %d", row["network"], line, lineOf[row["network"]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(lineOf) || rows < 900 {
		t.Errorf("Rows gave %d rows, the file has %d", rows, len(lineOf))
	}
	row, line, err := Row("36.96.2.0/24")
	if err != nil || line != 4 || row["city"] != "上海" || row["district"] != "浦东新区" || row["latitude"] != "31.2303" {
		t.Errorf("Row(36.96.2.0/24) = %v, line %d, %v", row, line, err)
	}
	if _, _, err := Row("192.0.2.0/24"); err == nil || !strings.Contains(err.Error(), "no row for 192.0.2.0/24") {
		t.Errorf("Row of a missing network: %v", err)
	}
}

// TestStdout: Stdout returns what f printed and puts os.Stdout back.
func TestStdout(t *testing.T) {
	old := os.Stdout
	out, err := Stdout(func() { os.Stdout.WriteString("one\ntwo\n") })
	if err != nil || out != "one\ntwo\n" {
		t.Errorf("Stdout = %q, %v", out, err)
	}
	if os.Stdout != old {
		t.Error("os.Stdout was not put back")
	}
}
