package main

import (
	"fmt"
	"io"

	"github.com/ipatlas/ipatlas/kv"
)

func runStore(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "migrate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stderr, "Usage: ipatlas store migrate --db DIR\n\nSubcommands:\n  migrate  check a store written by an older ipatlas and upgrade it to format %d in place\n", kv.FormatVersion)
			return nil
		}
		return usagef("want a subcommand: migrate")
	}
	fs := newFlags("store migrate", "--db DIR",
		fmt.Sprintf("Upgrades the store at DIR to store format %d, the one this ipatlas reads. A store of format 1\n"+
			"(written before stores carried a format version) is first checked in full: every layer's\n"+
			"metadata, and every row resolved (a full scan); then it is stamped. A store already of\n"+
			"format %d is left as it is; a newer one is refused. Other commands refuse a store of another\n"+
			"format and say so.", kv.FormatVersion, kv.FormatVersion), stderr)
	db := fs.String("db", "", "the store directory (required)")
	rest, err := parseWithMemory(fs, args[1:])
	if err != nil {
		return err
	}
	if err := storeOnly(rest, *db); err != nil {
		return err
	}
	from, err := kv.Migrate(*db, kv.Options{})
	if err != nil {
		return err
	}
	if from == kv.FormatVersion {
		fmt.Fprintf(stdout, "%s: already of format %d, nothing to do\n", *db, from)
		return nil
	}
	fmt.Fprintf(stdout, "%s: checked and upgraded from format %d to %d\n", *db, from, kv.FormatVersion)
	return nil
}
