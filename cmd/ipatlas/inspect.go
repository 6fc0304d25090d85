package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/reader"
)

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "[--json] FILE.mmdb",
		"Prints a .mmdb's metadata and statistics: database type, description, languages,\n"+
			"build time, format, record size, node count, the sizes of the search tree, data\n"+
			"section and metadata, the number of distinct records the tree points to, and the\n"+
			"networks with data per family (IPv4, IPv6) and per prefix length.\n\n"+
			"The tree is walked once. In an IPv6 tree, IPv4 networks are those under ::/96\n"+
			"at least 96 bits long, counted with their IPv4 prefix length; records that point\n"+
			"back at the IPv4 subtree from elsewhere (the aliases ::ffff:0:0/96, 2002::/16,\n"+
			"...) are listed as aliases and their networks are not counted again, as\n"+
			"maxminddb-golang's Networks() does. Any MaxMind DB file works.", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 0:
		return usagef("no FILE.mmdb")
	case len(rest) > 1:
		return usagef("one FILE.mmdb at a time, got %d arguments", len(rest))
	}
	f, err := loadMMDB(rest[0])
	if err != nil {
		return err
	}
	defer f.close()
	start := time.Now()
	st, err := walkTree(f)
	if err != nil {
		return fmt.Errorf("%s: %w (run 'ipatlas verify' for a full check)", f.path, err)
	}
	rep := f.report(st, time.Since(start))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText(stdout)
}

// mmdbFile is a database file read into memory, its sections located. The
// reader over it accepts what maxminddb-golang v2 accepts, so that inspect
// and verify work on any file the drop-in reader opens.
type mmdbFile struct {
	path     string
	buf      []byte
	r        *reader.Reader // opened WithoutIndex over buf
	md       reader.Metadata
	tree     []byte // node_count nodes
	data     []byte // between the separator and the metadata marker
	marker   int    // offset of the last metadata marker in buf
	meta     []byte // the metadata section, after the marker
	nodeSize uint   // bytes per node: record_size / 4
}

// loadMMDB reads path and opens it with the drop-in reader.
func loadMMDB(path string) (*mmdbFile, error) {
	buf, err := readRegularFile(path)
	if err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("%s: file is empty", path)
	}
	r, err := reader.OpenBytes(buf, reader.WithoutIndex())
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable MaxMind DB file: %w", path, err)
	}
	f := &mmdbFile{path: path, buf: buf, r: r, md: r.Metadata}
	// OpenBytes has checked that the tree and the separator fit before
	// the marker.
	f.marker = bytes.LastIndex(buf, format.MetadataMarker)
	f.meta = buf[f.marker+len(format.MetadataMarker):]
	f.nodeSize = f.md.RecordSize / 4
	treeSize := f.md.NodeCount * f.nodeSize
	f.tree = buf[:treeSize]
	f.data = buf[treeSize+format.DataSectionSeparatorSize : f.marker]
	return f, nil
}

func (f *mmdbFile) close() { _ = f.r.Close() }

// treeStats is what one walk of the search tree finds.
type treeStats struct {
	v4, v6     [129]uint64 // networks with data per prefix length
	records    uint64      // distinct data offsets that records point to
	offsets    []uint64    // bit set of those offsets
	nodes      uint64      // distinct nodes reached from the root
	visits     uint64      // node expansions (a shared subtree counts once per path)
	aliases    []netip.Prefix
	ipv4Start  uint // node 96 zero bits lead to in an IPv6 tree, or node_count+ when none
	hasV4Start bool
}

// walkTree walks the search tree of f once, from the root, depth first,
// without recursion, and counts the networks that have data. In an IPv6
// tree, a record outside the path ::/96 that points at the IPv4 start node
// (the node 96 zero bits lead to) is an alias: it is recorded and not
// followed. A node below the last bit, a record pointing into the
// separator or past the data section, and more node expansions than the
// tree has nodes (a cycle, or shared subtrees) are errors: a corrupt tree
// cannot make the walk run for ever.
func walkTree(f *mmdbFile) (*treeStats, error) {
	md := f.md
	rs := md.RecordSize
	if rs != 24 && rs != 28 && rs != 32 {
		return nil, fmt.Errorf("record_size %d: not 24, 28 or 32", rs)
	}
	nc := md.NodeCount
	if nc == 0 {
		return nil, fmt.Errorf("node_count is 0: the file has no search tree")
	}
	maxBits := uint(128)
	if md.IPVersion == 4 {
		maxBits = 32
	}
	st := &treeStats{ipv4Start: nc}
	if md.IPVersion == 6 {
		node, i := uint(0), 0
		for ; i < 96 && node < nc; i++ {
			node, _ = format.ReadNode(f.tree, rs, node)
		}
		if node < nc {
			st.ipv4Start, st.hasV4Start = node, true
		}
	}
	dataLen := uint(len(f.data))
	seenData := make([]uint64, dataLen/64+1)
	seenNode := make([]uint64, nc/64+1)
	type frame struct {
		node   uint
		depth  uint
		hi, lo uint64 // the bits of the path, most significant first
	}
	stack := make([]frame, 1, 130)
	stack[0] = frame{}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if st.visits++; st.visits > uint64(nc) {
			return nil, fmt.Errorf("search tree: more node visits than its %d nodes: a cycle or shared subtrees", nc)
		}
		if w, b := fr.node/64, uint64(1)<<(fr.node%64); seenNode[w]&b == 0 {
			seenNode[w] |= b
			st.nodes++
		}
		left, right := format.ReadNode(f.tree, rs, fr.node)
		d := fr.depth + 1
		// Right first, so that the left child is expanded first: address
		// order, which lists the aliases in order.
		for bit := 1; bit >= 0; bit-- {
			rec, hi, lo := left, fr.hi, fr.lo
			if bit == 1 {
				rec = right
				if fr.depth < 64 {
					hi |= 1 << (63 - fr.depth)
				} else {
					lo |= 1 << (127 - fr.depth)
				}
			}
			switch {
			case rec < nc:
				if d >= maxBits {
					return nil, fmt.Errorf("search tree: node %d at bit %d, below the last bit of a %d-bit tree", rec, d, maxBits)
				}
				if st.hasV4Start && rec == st.ipv4Start && !(d == 96 && hi == 0 && lo == 0) {
					st.aliases = append(st.aliases, inspectPathPrefix(hi, lo, d, md.IPVersion))
					continue
				}
				stack = append(stack, frame{rec, d, hi, lo})
			case rec == nc: // no data
			default:
				if rec < nc+format.DataSectionSeparatorSize || rec-nc-format.DataSectionSeparatorSize >= dataLen {
					return nil, fmt.Errorf("search tree: record %d of node %d points outside the data section (%d bytes)", rec, fr.node, dataLen)
				}
				off := rec - nc - format.DataSectionSeparatorSize
				if w, b := off/64, uint64(1)<<(off%64); seenData[w]&b == 0 {
					seenData[w] |= b
					st.records++
				}
				switch {
				case md.IPVersion == 4:
					st.v4[d]++
				case d >= 96 && hi == 0 && lo>>32 == 0:
					st.v4[d-96]++
				default:
					st.v6[d]++
				}
			}
		}
	}
	slices.SortFunc(st.aliases, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	st.offsets = seenData
	return st, nil
}

// inspectPathPrefix returns the prefix of the first depth bits of hi:lo.
func inspectPathPrefix(hi, lo uint64, depth uint, ipVersion uint) netip.Prefix {
	var a [16]byte
	for i := range 8 {
		a[i] = byte(hi >> (56 - 8*i))
		a[8+i] = byte(lo >> (56 - 8*i))
	}
	if ipVersion == 4 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(a[:4])), int(depth))
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), int(depth))
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

func (f *mmdbFile) report(st *treeStats, walk time.Duration) *inspectReport {
	md := f.md
	fm := format.Metadata{BuildEpoch: md.BuildEpoch}
	rep := &inspectReport{
		File:     f.path,
		FileSize: len(f.buf),
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
			BuildTime:    fm.BuildTime().Format(time.RFC3339),
		},
		SearchTreeSize:  uint(len(f.tree)),
		DataSectionSize: len(f.data),
		MetadataSize:    len(f.buf) - f.marker,
		NodesReached:    st.nodes,
		DistinctRecords: st.records,
		Aliases:         []string{},
		WalkSeconds:     walk.Seconds(),
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
	rep.Networks.IPv4 = familyStats(&st.v4, 32)
	rep.Networks.IPv6 = familyStats(&st.v6, 128)
	rep.Networks.Total = rep.Networks.IPv4.Networks + rep.Networks.IPv6.Networks
	for _, a := range st.aliases {
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
