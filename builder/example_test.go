package builder_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/internal/sampledb"
	"github.com/ipatlas/ipatlas/kv"
)

// ExampleIngestFile ingests a file of inference results into a layer of
// a store, then shows that the same file again changes nothing and that a
// bad row rejects its file with an error naming line and field.
//
// testdata/sample/bertgeo.csv has 962 rows; 26 of them are ranges, each
// x.y.200.0-x.y.201.255 (one /23) or x.y.202.0-x.y.203.127 (a /24 and a
// /25), so 936 + 13*1 + 13*2 = 975 networks.
// TestExampleIngestFileMatchesSample counts both from the CSV with
// encoding/csv and a brute-force range split.
func ExampleIngestFile() {
	dir, err := os.MkdirTemp("", "builder-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := kv.Open(filepath.Join(dir, "store"), kv.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	sample := filepath.Join("..", "testdata", "sample", "bertgeo.csv")
	stats, err := builder.IngestFile(ctx, st, "bertgeo", 10, kv.Upsert, sample, builder.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d rows, %d networks, %d skipped\n", stats.Rows, stats.Networks, stats.Skipped)

	// The same file again: the store already has it.
	_, err = builder.IngestFile(ctx, st, "bertgeo", 10, kv.Upsert, sample, builder.Options{})
	fmt.Println("again:", errors.Is(err, kv.ErrAlreadyIngested))

	// A bad row rejects the whole file; the error says where and why.
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("network,country_code,latitude,longitude\n1.2.3.0/24,DE,95,10\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	_, err = builder.IngestFile(ctx, st, "other", 5, kv.Upsert, bad, builder.Options{})
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	if re, ok := errors.AsType[*builder.RowError](err); ok {
		fmt.Printf("line %d, field %s\n", re.Line, re.Field)
	}
	// Output:
	// 962 rows, 975 networks, 0 skipped
	// again: true
	// bad.csv:2: latitude: outside [-90, 90] (got 95)
	// line 2, field latitude
}

// TestExampleIngestFileMatchesSample checks the counts ExampleIngestFile
// prints against testdata/sample/bertgeo.csv read with encoding/csv, its
// ranges split by brute force (the largest aligned block at each step),
// not by builder.
func TestExampleIngestFileMatchesSample(t *testing.T) {
	rows, networks := 0, 0
	err := sampledb.Rows(func(line int, row map[string]string) error {
		rows++
		first, last, isRange := strings.Cut(row["network"], "-")
		if !isRange {
			networks++ // a CIDR or one address
			return nil
		}
		lo, hi := ipv4(t, first), ipv4(t, last)
		for lo <= hi {
			size := uint64(1)
			for lo%(size*2) == 0 && lo+size*2-1 <= hi {
				size *= 2
			}
			networks++
			lo += size
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sampledb.Stdout(ExampleIngestFile)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d rows, %d networks, 0 skipped\n", rows, networks)
	if !strings.HasPrefix(out, want) {
		t.Errorf("ExampleIngestFile prints\n%s\nbut %s has %q", out, sampledb.CSV, want)
	}
}

// ipv4 parses an IPv4 address of a sample range into a number.
func ipv4(t *testing.T, s string) uint64 {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		t.Fatalf("%s: range bound %q: not IPv4 (%v): the brute-force split handles IPv4 only", sampledb.CSV, s, err)
	}
	b := a.As4()
	return uint64(binary.BigEndian.Uint32(b[:]))
}
