package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ipatlas/ipatlas/kv"
)

// The argument checks the commands share: one place says each rule.

// parseWithMemory registers --memory-limit, parses args as
// parseInterleaved does and applies the memory limit; it returns the
// positional arguments. For the commands that fill a store or compile one.
func parseWithMemory(fs *flag.FlagSet, args []string) ([]string, error) {
	memory := memoryFlag(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	return rest, memory()
}

// parseOneDatabase parses args as parseInterleaved does and returns the
// one FILE.mmdb of a command that takes one.
func parseOneDatabase(fs *flag.FlagSet, args []string) (string, error) {
	rest, err := parseInterleaved(fs, args)
	switch {
	case err != nil:
		return "", err
	case len(rest) == 0:
		return "", usagef("no FILE.mmdb")
	case len(rest) > 1:
		return "", usagef("one FILE.mmdb at a time, got %d arguments: %q", len(rest), rest)
	}
	return rest[0], nil
}

// parseTwoDatabases parses args as parseInterleaved does and returns the
// A.mmdb and B.mmdb of diff and compare.
func parseTwoDatabases(fs *flag.FlagSet, args []string) (a, b string, err error) {
	rest, err := parseInterleaved(fs, args)
	switch {
	case err != nil:
		return "", "", err
	case len(rest) != 2:
		return "", "", usagef("want two files, A.mmdb and B.mmdb; got %d arguments", len(rest))
	}
	return rest[0], rest[1], nil
}

// storeOnly checks the arguments of a command that takes only --db DIR,
// a store that exists: no positional arguments, --db given, DIR there.
func storeOnly(rest []string, db string) error {
	if len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	if db == "" {
		return usagef("--db is required")
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// openStoreSources opens the store at db (openStore) and reads its
// sources' settings (readSources); the caller closes the store.
func openStoreSources(db string) (*kv.Store, map[string]*sourceInfo, error) {
	st, err := openStore(db)
	if err != nil {
		return nil, nil, err
	}
	infos, err := readSources(db)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, infos, nil
}
