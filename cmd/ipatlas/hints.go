package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/schema"
)

// rejectHints returns the lines that suggest how to fix the bad rows of a
// rejected input: --levels for a level without its parent, --format raw
// for raw records read as inference rows, --extra for an unknown column,
// and --skip-bad-rows to land the good rows; export for a .mmdb given as
// an input. levels is the hierarchy in use (nil: the default).
func rejectHints(err error, levels []string) []string {
	var rows []error
	var br *builder.BadRowsError
	var re *builder.RowError
	switch {
	case errors.As(err, &br):
		rows = br.Errors
	case errors.As(err, &re):
		rows = []error{re}
	case strings.Contains(err.Error(), ".mmdb: cannot tell the format"):
		// A database given as an input: it is read through its rows.
		return []string{"hint: a .mmdb is a database, not inference results; to rebuild one, export its rows " +
			"and give those: ipatlas export FILE.mmdb --out rows.jsonl"}
	default:
		return nil
	}
	if levels == nil {
		levels = schema.DefaultLevels
	}
	var hints []string
	add := func(h string) {
		if !slices.Contains(hints, h) {
			hints = append(hints, h)
		}
	}
	for _, e := range rows {
		var re *builder.RowError
		if !errors.As(e, &re) {
			continue
		}
		msg := re.Error()
		switch {
		case strings.Contains(msg, "without its parent level "):
			_, parent, _ := strings.Cut(msg, "without its parent level ")
			parent, _, _ = strings.Cut(parent, " ")
			shorter := slices.DeleteFunc(slices.Clone(levels), func(l string) bool { return l == parent })
			add(fmt.Sprintf("hint: a level needs its parent level; if your rows have no %s, declare the hierarchy they use: --levels %s",
				parent, strings.Join(shorter, ",")))
		case re.Field == "record" && strings.Contains(msg, "unknown key"):
			add("hint: these look like raw records ({\"network\":...,\"record\":...}, as 'ipatlas export' writes): --format raw")
		case strings.Contains(msg, "unknown column") || strings.Contains(msg, "unknown key: want network"):
			// A default level's column that --levels leaves out is more
			// likely a level missing from --levels than an extra attribute.
			level := strings.TrimSuffix(strings.TrimSuffix(re.Field, "_code"), "_confidence")
			if slices.Contains(schema.DefaultLevels, level) && !slices.Contains(levels, level) {
				add(fmt.Sprintf("hint: %q is a column of level %s, which --levels %s leaves out; add %s to --levels",
					re.Field, level, strings.Join(levels, ","), level))
			}
			add(fmt.Sprintf("hint: to keep %q as an extra attribute: --extra %s", re.Field, re.Field))
		}
	}
	if br != nil { // bad rows, not a bad header: skipping them is a way
		add("hint: --skip-bad-rows lands the file without its bad rows, each reported")
	}
	return hints
}

// rejected wraps the error of a rejected input with hints, one a line.
func rejected(err error, what string, levels []string) error {
	hints := rejectHints(err, levels)
	if len(hints) == 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w\n%s", what, err, strings.Join(hints, "\n"))
}
