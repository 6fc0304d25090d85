package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/ipatlas/ipatlas/reader"
)

func runLookup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lookup", "FILE.mmdb [IP|CIDR]...",
		"Prints one JSON line per address: the address, the network that holds it and its record.\n"+
			"A CIDR lists every network with data inside it. With no IP arguments, or with '-',\n"+
			"addresses are read from standard input, one a line. Any MaxMind DB file works.", stderr)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("no FILE.mmdb")
	}
	db, err := reader.Open(rest[0])
	if err != nil {
		return err
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
				if err := printResult(enc, "", res); err != nil {
					return err
				}
			}
			return nil
		}
		a, err := netip.ParseAddr(q)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR", q)
		}
		return printResult(enc, a.String(), db.Lookup(a))
	}
	if len(queries) == 0 || len(queries) == 1 && queries[0] == "-" {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if err := one(sc.Text()); err != nil {
				fmt.Fprintf(stderr, "ipatlas lookup: %v\n", err)
				failed++
			}
		}
		if err := sc.Err(); err != nil {
			return err
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

func printResult(enc *json.Encoder, ip string, res reader.Result) error {
	if err := res.Err(); err != nil {
		return err
	}
	line := lookupLine{IP: ip, Network: res.Prefix().String(), Found: res.Found()}
	if res.Found() {
		if err := res.Decode(&line.Record); err != nil {
			return fmt.Errorf("%s: %w", res.Prefix(), err)
		}
	}
	return enc.Encode(line)
}
