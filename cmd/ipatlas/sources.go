package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ipatlas/ipatlas/internal/atomicfile"
	"github.com/ipatlas/ipatlas/kv"
)

// sourcesFile is the file in a store's folder that keeps, for each source
// (layer), the settings its rows are read with and its last ingest, so
// that a later ingest of the same source without flags reads its files the
// same way. The priority itself lives in the store (kv.Layer.Priority).
// It is written only while the store is open, so under the store's lock.
const sourcesFile = "ipatlas-sources.json"

// sourceInfo is one source's entry in sourcesFile.
type sourceInfo struct {
	Levels     []string  `json:"levels,omitempty"`
	Extra      []string  `json:"extra,omitempty"`
	LastIngest time.Time `json:"last_ingest"`
	// Rows and Networks are those of the last ingest that landed.
	Rows     int    `json:"rows"`
	Networks int    `json:"networks"`
	LastFile string `json:"last_file,omitempty"`
}

// readSources reads the store's sourcesFile (none: an empty map).
func readSources(db string) (map[string]*sourceInfo, error) {
	m := map[string]*sourceInfo{}
	b, err := os.ReadFile(filepath.Join(db, sourcesFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(db, sourcesFile), err)
	}
	return m, nil
}

// writeSources replaces the store's sourcesFile atomically (synced, its
// folder too).
func writeSources(db string, m map[string]*sourceInfo) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(db, sourcesFile), append(b, '\n'))
}

// openStore opens the store at dir, saying so when another process has
// it open (Pebble's lock).
func openStore(dir string) (*kv.Store, error) {
	st, err := kv.Open(dir, kv.Options{})
	if err != nil && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(err.Error(), "resource temporarily unavailable")) {
		return nil, fmt.Errorf("store %s is in use by another ipatlas process (an ingest, compile or build on it): wait until it ends, then try again", dir)
	}
	return st, err
}

// layerPriority returns the priority of the layer name, and whether the
// store has it.
func layerPriority(st *kv.Store, name string) (int32, bool, error) {
	layers, err := st.Layers()
	if err != nil {
		return 0, false, err
	}
	for _, l := range layers {
		if l.Name == name {
			return l.Priority, true, nil
		}
	}
	return 0, false, nil
}

const sourcesHelp = `Lists the sources (layers) of the store at DIR: priority, the levels and extra columns
their files are read with (kept from their first ingest, changed by ingest --levels and
--extra), the networks they hold now, and their last ingest (time, file, rows, networks).
With --remove NAME, deletes the source NAME and all its networks instead.`

func runSources(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sources", "--db DIR [--remove NAME] [--json]", sourcesHelp, stderr)
	db := fs.String("db", "", "the store directory (required)")
	remove := fs.String("remove", "", "delete the source `NAME` and its networks")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := storeOnly(rest, *db); err != nil {
		return err
	}
	st, infos, err := openStoreSources(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *remove != "" {
		if err := st.DropLayer(*remove); err != nil {
			if errors.Is(err, kv.ErrNoLayer) {
				return fmt.Errorf("store %s has no source %q", *db, *remove)
			}
			return err
		}
		delete(infos, *remove)
		if err := writeSources(*db, infos); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: removed source %s\n", *db, *remove)
		return nil
	}
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	stats, err := snap.Stats()
	if err != nil {
		return err
	}
	type row struct {
		Name       string     `json:"name"`
		Priority   int32      `json:"priority"`
		Networks   int64      `json:"networks"`
		Levels     []string   `json:"levels,omitempty"`
		Extra      []string   `json:"extra,omitempty"`
		LastIngest *time.Time `json:"last_ingest,omitempty"`
		LastFile   string     `json:"last_file,omitempty"`
		LastRows   int        `json:"last_rows"`
		LastNets   int        `json:"last_networks"`
	}
	var rows []row
	for _, l := range stats.Layers {
		r := row{Name: l.Layer.Name, Priority: l.Layer.Priority, Networks: l.Networks}
		if in := infos[l.Layer.Name]; in != nil {
			r.Levels, r.Extra, r.LastFile, r.LastRows, r.LastNets = in.Levels, in.Extra, in.LastFile, in.Rows, in.Networks
			t := in.LastIngest
			r.LastIngest = &t
		}
		rows = append(rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPRIORITY\tNETWORKS\tLEVELS\tLAST INGEST\tLAST FILE\tLAST ROWS\tLAST NETWORKS")
	for _, r := range rows {
		levels, last := "default", "-"
		if r.Levels != nil {
			levels = strings.Join(r.Levels, ",")
		}
		if r.LastIngest != nil {
			last = r.LastIngest.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\n", r.Name, r.Priority, r.Networks, levels, last, filepath.Base(r.LastFile), r.LastRows, r.LastNets)
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no sources)")
	}
	return tw.Flush()
}

// sameStrings compares two optional lists.
func sameStrings(a, b []string) bool { return slices.Equal(a, b) }
