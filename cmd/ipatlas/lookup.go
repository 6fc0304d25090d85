package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/ipatlas/ipatlas/internal/recordjson"
	"github.com/ipatlas/ipatlas/internal/recordpath"
	"github.com/ipatlas/ipatlas/reader"
)

const lookupHelp = `Prints one JSON line per address: the address, the network that holds it and its record:
  {"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{...}}
A CIDR lists every network with data inside it (lines without "ip"). With no IP
arguments, or with '-', addresses are read from standard input, one a line. Any
MaxMind DB file works.

--path prints one value of the record instead, as "value":
  {"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"value":"CN"}
Path elements are separated by dots (write a dot inside a key as \. and a backslash
as \\). Each element is read as the data says, as mmdblookup does: in a map it is a
key; in an array it is an index, negative indexes counting from the end (-1 is the
last). When the record has nothing at the path (a missing key, an index out of
range, a key into a string) the line has "found":true and "value":null; an
address without a record has "found":false and "value":null. Neither is an error.

Values are plain JSON: integers of every width as numbers (uint128 too, which may
exceed what a JavaScript number holds), bytes as base64 strings, NaN and infinities
as the strings "NaN", "+Inf" and "-Inf".

Exit status 1 when a query is not an address or CIDR (the others are still
answered) or the file is not a MaxMind DB; 2 for bad flags.`

func runLookup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lookup", "[--path a.b.0.c] FILE.mmdb [IP|CIDR]...", lookupHelp, stderr)
	pathFlag := fs.String("path", "", "print only the value at this `path` of each record, e.g. country.iso_code or subdivisions.-1.names.en")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("no FILE.mmdb")
	}
	var path []string
	if hasFlag(fs, "path") {
		if path, err = parseLookupPath(*pathFlag); err != nil {
			return usagef("--path %q: %v", *pathFlag, err)
		}
	}
	db, err := reader.Open(rest[0])
	if err != nil {
		return openError(rest[0], err)
	}
	defer db.Close()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	queries := rest[1:]
	failed := 0
	one := func(q string) error {
		q = strings.TrimSpace(q)
		if q == "" {
			return nil
		}
		if strings.Contains(q, "/") {
			p, err := netip.ParsePrefix(q)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", q)
			}
			for res := range db.NetworksWithin(p.Masked()) {
				if err := printResult(enc, "", res, path); err != nil {
					return err
				}
			}
			return nil
		}
		a, err := netip.ParseAddr(q)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR", q)
		}
		return printResult(enc, a.String(), db.Lookup(a), path)
	}
	if len(queries) == 0 || len(queries) == 1 && queries[0] == "-" {
		lines := newStdinLines(os.Stdin)
		for {
			q, err := lines.next()
			if err == io.EOF {
				break
			}
			if err == nil {
				err = one(q)
			}
			if err != nil {
				if _, ok := err.(stdinError); !ok {
					err = fmt.Errorf("standard input, line %d: %w", lines.n, err)
				}
				fmt.Fprintf(stderr, "ipatlas lookup: %v\n", err)
				failed++
				if lines.broken {
					break
				}
			}
		}
	} else {
		for _, q := range queries {
			if err := one(q); err != nil {
				fmt.Fprintf(stderr, "ipatlas lookup: %v\n", err)
				failed++
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of the queries failed", failed)
	}
	return nil
}

// lookupLine is one line of lookup's output.
type lookupLine struct {
	IP      string `json:"ip,omitempty"`
	Network string `json:"network"`
	Found   bool   `json:"found"`
	Record  any    `json:"record,omitempty"`
}

// lookupPathLine is one line of lookup --path: value is always present,
// null when there is nothing at the path.
type lookupPathLine struct {
	IP      string `json:"ip,omitempty"`
	Network string `json:"network"`
	Found   bool   `json:"found"`
	Value   any    `json:"value"`
}

// printResult prints one result: the whole record, or with a non-nil
// path the value at path.
func printResult(enc *json.Encoder, ip string, res reader.Result, path []string) error {
	if err := res.Err(); err != nil {
		return err
	}
	var line any
	if path == nil {
		l := lookupLine{IP: ip, Network: resultNetwork(ip, res), Found: res.Found()}
		if res.Found() {
			if err := res.Decode(&l.Record); err != nil {
				return fmt.Errorf("%s: %w", res.Prefix(), err)
			}
		}
		line = &l
	} else {
		l := lookupPathLine{IP: ip, Network: resultNetwork(ip, res), Found: res.Found()}
		if res.Found() {
			v, err := valueAtPath(res, path)
			if err != nil {
				return fmt.Errorf("%s: %w", res.Prefix(), err)
			}
			l.Value = v
		}
		line = &l
	}
	err := enc.Encode(line)
	var uv *json.UnsupportedValueError
	if errors.As(err, &uv) {
		// NaN and infinities have no JSON number; write them as the
		// strings mmdbjson.AppendJSON uses.
		switch l := line.(type) {
		case *lookupLine:
			l.Record = recordjson.Safe(l.Record)
		case *lookupPathLine:
			l.Value = recordjson.Safe(l.Value)
		}
		err = enc.Encode(line)
	}
	return err
}

// parseLookupPath splits a --path into its elements.
func parseLookupPath(s string) ([]string, error) { return recordpath.Parse(s) }

// valueAtPath returns the value at path in the record of res, or nil when
// there is none (see recordpath.Value).
func valueAtPath(res reader.Result, path []string) (any, error) { return recordpath.Value(res, path) }

// hasFlag reports whether the flag name was given.
func hasFlag(fs *flag.FlagSet, name string) (set bool) {
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
