package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/mmdbtool"
)

const inspectHelp = `Prints a .mmdb's metadata and statistics: database type, description, languages,
build time, format, record size, node count, the sizes of the search tree, data
section and metadata, the number of distinct records the tree points to, and the
networks with data per family (IPv4, IPv6) and per prefix length.

The tree is walked once. In an IPv6 tree, IPv4 networks are those under ::/96
at least 96 bits long, counted with their IPv4 prefix length; records that point
back at the IPv4 subtree from elsewhere (the aliases ::ffff:0:0/96, 2002::/16,
...) are listed as aliases and their networks are not counted again, as
maxminddb-golang's Networks() does. Any MaxMind DB file works.`

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "[--json] FILE.mmdb", inspectHelp, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	path, err := parseOneDatabase(fs, args)
	if err != nil {
		return err
	}
	st, err := mmdbtool.Inspect(path)
	var te *mmdbtool.TreeError
	if errors.As(err, &te) {
		return fmt.Errorf("%w (run 'ipatlas verify' for a full check)", err)
	}
	if err != nil {
		return err
	}
	rep := newInspectReport(path, st)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText(stdout)
}

// prefixString is p.String(), except that an IPv4-mapped IPv6 prefix is
// written in hexadecimal (::ffff:0:0/96, not ::ffff:0.0.0.0/96), since in
// a tree it is an IPv6 network.
func prefixString(p netip.Prefix) string {
	a := p.Addr()
	if !a.Is4In6() {
		return p.String()
	}
	b := a.As16()
	return fmt.Sprintf("::ffff:%x:%x/%d", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15]), p.Bits())
}

// inspectReport is the output of inspect, also its JSON form.
type inspectReport struct {
	File            string           `json:"file"`
	FileSize        int              `json:"file_size"`
	Metadata        inspectMetadata  `json:"metadata"`
	SearchTreeSize  uint             `json:"search_tree_size"`
	DataSectionSize int              `json:"data_section_size"`
	MetadataSize    int              `json:"metadata_size"`
	NodesReached    uint64           `json:"nodes_reached"`
	DistinctRecords uint64           `json:"distinct_records"`
	Networks        inspectNetworks  `json:"networks"`
	Aliases         []string         `json:"ipv4_aliases"`
	WalkSeconds     float64          `json:"walk_seconds"`
	ipVersion       uint             // of the tree
	desc            []inspectKeyText // description, sorted by language
}

type inspectKeyText struct{ key, text string }

type inspectMetadata struct {
	DatabaseType string            `json:"database_type"`
	Description  map[string]string `json:"description"`
	Languages    []string          `json:"languages"`
	Major        uint              `json:"binary_format_major_version"`
	Minor        uint              `json:"binary_format_minor_version"`
	IPVersion    uint              `json:"ip_version"`
	RecordSize   uint              `json:"record_size"`
	NodeCount    uint              `json:"node_count"`
	BuildEpoch   uint64            `json:"build_epoch"`
	BuildTime    string            `json:"build_time"`
}

type inspectNetworks struct {
	Total uint64        `json:"total"`
	IPv4  inspectFamily `json:"ipv4"`
	IPv6  inspectFamily `json:"ipv6"`
}

// inspectFamily counts the networks with data of one address family.
type inspectFamily struct {
	Networks  uint64         `json:"networks"`
	Addresses json.Number    `json:"addresses"` // may exceed 2^64 for IPv6
	ByLength  []inspectCount `json:"by_prefix_length"`
}

type inspectCount struct {
	PrefixLength int         `json:"prefix_length"`
	Networks     uint64      `json:"networks"`
	Addresses    json.Number `json:"addresses"`
}

func familyStats(h *[129]uint64, bitLen int) inspectFamily {
	fam := inspectFamily{ByLength: []inspectCount{}}
	total := new(big.Int)
	for l, n := range h {
		if n == 0 {
			continue
		}
		a := new(big.Int).Lsh(big.NewInt(1), uint(bitLen-l))
		a.Mul(a, new(big.Int).SetUint64(n))
		total.Add(total, a)
		fam.Networks += n
		fam.ByLength = append(fam.ByLength, inspectCount{l, n, json.Number(a.String())})
	}
	fam.Addresses = json.Number(total.String())
	return fam
}

// newInspectReport makes the report of the file at path from its Stats.
func newInspectReport(path string, st *mmdbtool.Stats) *inspectReport {
	md := st.Metadata
	rep := &inspectReport{
		File:     path,
		FileSize: st.FileSize,
		Metadata: inspectMetadata{
			DatabaseType: md.DatabaseType,
			Description:  md.Description,
			Languages:    md.Languages,
			Major:        md.BinaryFormatMajorVersion,
			Minor:        md.BinaryFormatMinorVersion,
			IPVersion:    md.IPVersion,
			RecordSize:   md.RecordSize,
			NodeCount:    md.NodeCount,
			BuildEpoch:   uint64(md.BuildEpoch),
			BuildTime:    md.BuildTime().UTC().Format(time.RFC3339),
		},
		SearchTreeSize:  uint(st.SearchTreeSize),
		DataSectionSize: st.DataSectionSize,
		MetadataSize:    st.MetadataSize,
		NodesReached:    st.NodesReached,
		DistinctRecords: st.DistinctRecords,
		Aliases:         []string{},
		WalkSeconds:     st.WalkTime.Seconds(),
		ipVersion:       md.IPVersion,
	}
	if rep.Metadata.Description == nil {
		rep.Metadata.Description = map[string]string{}
	}
	if rep.Metadata.Languages == nil {
		rep.Metadata.Languages = []string{}
	}
	for k, v := range md.Description {
		rep.desc = append(rep.desc, inspectKeyText{k, v})
	}
	slices.SortFunc(rep.desc, func(a, b inspectKeyText) int { return strings.Compare(a.key, b.key) })
	rep.Networks.IPv4 = familyStats(&st.IPv4, 32)
	rep.Networks.IPv6 = familyStats(&st.IPv6, 128)
	rep.Networks.Total = rep.Networks.IPv4.Networks + rep.Networks.IPv6.Networks
	for _, a := range st.Aliases {
		rep.Aliases = append(rep.Aliases, prefixString(a))
	}
	return rep
}

// writeText prints the report for people.
func (rep *inspectReport) writeText(w io.Writer) error {
	var b strings.Builder
	m := &rep.Metadata
	line := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "%-20s "+format+"\n", append([]any{k + ":"}, args...)...)
	}
	line("file", "%s (%s bytes)", rep.File, commas(uint64(rep.FileSize)))
	line("database_type", "%q", m.DatabaseType)
	if len(rep.desc) == 0 {
		line("description", "(none)")
	}
	for i, d := range rep.desc {
		k := "description"
		if i > 0 {
			k = ""
		}
		if k == "" {
			fmt.Fprintf(&b, "%-20s %s: %q\n", "", d.key, d.text)
		} else {
			line(k, "%s: %q", d.key, d.text)
		}
	}
	if len(m.Languages) == 0 {
		line("languages", "(none)")
	} else {
		line("languages", "%s", strings.Join(m.Languages, " "))
	}
	line("build time", "%s (build_epoch %d)", m.BuildTime, m.BuildEpoch)
	line("binary format", "%d.%d", m.Major, m.Minor)
	line("ip_version", "%d", m.IPVersion)
	line("record_size", "%d bits", m.RecordSize)
	line("node_count", "%s (%s reached from the root)", commas(uint64(m.NodeCount)), commas(rep.NodesReached))
	line("search tree", "%s bytes", commas(uint64(rep.SearchTreeSize)))
	line("data section", "%s bytes", commas(uint64(rep.DataSectionSize)))
	line("metadata", "%s bytes (marker included)", commas(uint64(rep.MetadataSize)))
	line("distinct records", "%s", commas(rep.DistinctRecords))
	line("networks", "%s with data: IPv4 %s, IPv6 %s", commas(rep.Networks.Total),
		commas(rep.Networks.IPv4.Networks), commas(rep.Networks.IPv6.Networks))
	if rep.ipVersion == 6 {
		if len(rep.Aliases) == 0 {
			line("IPv4 aliases", "none")
		} else {
			line("IPv4 aliases", "%s (lead to the IPv4 subtree; not counted again)", strings.Join(rep.Aliases, " "))
		}
	}
	for i, fam := range []*inspectFamily{&rep.Networks.IPv4, &rep.Networks.IPv6} {
		name, bitLen := "IPv4", 32
		if i == 1 {
			name, bitLen = "IPv6", 128
		}
		if fam.Networks == 0 {
			continue
		}
		share := ""
		if total, ok := new(big.Float).SetString(string(fam.Addresses)); ok {
			space := new(big.Float).SetMantExp(big.NewFloat(1), bitLen)
			pct, _ := new(big.Float).Quo(total, space).Float64()
			share = fmt.Sprintf(", %.4g%% of the space", pct*100)
		}
		fmt.Fprintf(&b, "\n%s networks by prefix length (%s addresses%s):\n", name, commasString(string(fam.Addresses)), share)
		fmt.Fprintf(&b, "  %6s %14s\n", "prefix", "networks")
		for _, c := range fam.ByLength {
			fmt.Fprintf(&b, "  %6s %14s\n", "/"+strconv.Itoa(c.PrefixLength), commas(c.Networks))
		}
	}
	fmt.Fprintf(&b, "\n(tree walked in %.3f s)\n", rep.WalkSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}

// commas formats n with thousands separators.
func commas(n uint64) string { return commasString(strconv.FormatUint(n, 10)) }

func commasString(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
