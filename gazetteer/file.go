package gazetteer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/internal/atomicfile"
)

// The gazetteer file (.gaz), little-endian:
//
//	magic    "ipatlas-gazetteer\n"   18 bytes
//	version  uint16                  1
//	length   uint64                  bytes of payload
//	sha256   [32]byte                of payload
//	payload:
//	  langs         n, n x string                 the languages of all names
//	  countries     n, n x {code string, geoname_id, name string, names}
//	  subdivisions  n, n x {country, code string, geoname_id, name string, names}
//	  places        n, n x {geoname_id, lat float64, lon float64, population,
//	                        country, subdivision+1, name string, names}
//	names  = n, n x {lang index, name string}
//	string = uvarint length, UTF-8 bytes
//
// Every integer not marked otherwise is a uvarint; lat and lon are the
// IEEE 754 bits of float64 degrees (8 bytes). Nothing follows the
// payload. The spatial index is not stored: Read builds it (about 30 ms
// for 150,000 places).

const (
	fileMagic   = "ipatlas-gazetteer\n"
	fileVersion = 1
	headerLen   = len(fileMagic) + 2 + 8 + 32
)

// Append appends g in the gazetteer file format to b.
func (g *Gazetteer) Append(b []byte) []byte {
	langIndex := map[string]uint64{}
	var langs []string
	collect := func(names []Name) {
		for _, n := range names {
			if _, ok := langIndex[n.Lang]; !ok {
				langIndex[n.Lang] = 0
				langs = append(langs, n.Lang)
			}
		}
	}
	for _, c := range g.Countries {
		collect(c.Names)
	}
	for _, s := range g.Subdivisions {
		collect(s.Names)
	}
	for _, p := range g.Places {
		collect(p.Names)
	}
	slices.Sort(langs)
	for i, l := range langs {
		langIndex[l] = uint64(i)
	}
	var p []byte
	str := func(s string) { p = binary.AppendUvarint(p, uint64(len(s))); p = append(p, s...) }
	names := func(ns []Name) {
		p = binary.AppendUvarint(p, uint64(len(ns)))
		for _, n := range ns {
			p = binary.AppendUvarint(p, langIndex[n.Lang])
			str(n.Name)
		}
	}
	p = binary.AppendUvarint(p, uint64(len(langs)))
	for _, l := range langs {
		str(l)
	}
	p = binary.AppendUvarint(p, uint64(len(g.Countries)))
	for _, c := range g.Countries {
		str(c.Code)
		p = binary.AppendUvarint(p, uint64(c.GeonameID))
		str(c.Name)
		names(c.Names)
	}
	p = binary.AppendUvarint(p, uint64(len(g.Subdivisions)))
	for _, s := range g.Subdivisions {
		p = binary.AppendUvarint(p, uint64(s.Country))
		str(s.Code)
		p = binary.AppendUvarint(p, uint64(s.GeonameID))
		str(s.Name)
		names(s.Names)
	}
	p = binary.AppendUvarint(p, uint64(len(g.Places)))
	for _, pl := range g.Places {
		p = binary.AppendUvarint(p, uint64(pl.GeonameID))
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(pl.Lat))
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(pl.Lon))
		p = binary.AppendUvarint(p, uint64(pl.Population))
		p = binary.AppendUvarint(p, uint64(pl.Country))
		p = binary.AppendUvarint(p, uint64(pl.Subdivision+1))
		str(pl.Name)
		names(pl.Names)
	}
	b = append(b, fileMagic...)
	b = binary.LittleEndian.AppendUint16(b, fileVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
	sum := sha256.Sum256(p)
	b = append(b, sum[:]...)
	return append(b, p...)
}

// WriteFile writes g to path atomically (internal/atomicfile): a
// temporary file in the same folder, fsynced, renamed over path, and the
// folder fsynced.
func (g *Gazetteer) WriteFile(path string) error {
	if err := atomicfile.WriteFile(path, g.Append(nil)); err != nil {
		return fmt.Errorf("gazetteer: %w", err)
	}
	return nil
}

// ReadFile reads the gazetteer file at path (see Parse).
func ReadFile(path string) (*Gazetteer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a gazetteer file held in data; name is its name in errors.
// A file that is not one, of another version, truncated, corrupt (its
// checksum differs) or malformed is an *InputError naming the byte
// offset and the field. Strings of the result share one copy of the
// payload.
func Parse(data []byte, name string) (*Gazetteer, error) {
	bad := func(off int, field, format string, args ...any) error {
		return &InputError{File: name, Offset: int64(off), Field: field, Err: fmt.Errorf(format, args...)}
	}
	if len(data) < headerLen || !bytes.HasPrefix(data, []byte(fileMagic)) {
		return nil, bad(0, "magic", "not a gazetteer file (want it to start with %q)", fileMagic)
	}
	off := len(fileMagic)
	if v := binary.LittleEndian.Uint16(data[off:]); v != fileVersion {
		return nil, bad(off, "version", "%d, this build reads version %d", v, fileVersion)
	}
	off += 2
	n := binary.LittleEndian.Uint64(data[off:])
	if n != uint64(len(data)-headerLen) {
		return nil, bad(off, "length", "payload of %d bytes, the file has %d after the header (truncated or padded)", n, len(data)-headerLen)
	}
	off += 8
	if sum := sha256.Sum256(data[headerLen:]); !bytes.Equal(sum[:], data[off:off+32]) {
		return nil, bad(off, "sha256", "checksum mismatch: the file is corrupt")
	}
	d := &fileDecoder{p: string(data[headerLen:]), base: headerLen, name: name, sum: [32]byte(data[off : off+32])}
	g, err := d.gazetteer()
	if err != nil {
		return nil, err
	}
	return g, nil
}

// fileDecoder reads a payload; base is the payload's offset in the file.
type fileDecoder struct {
	sum  [32]byte // the payload's SHA-256, checked
	p    string
	off  int
	base int
	name string
}

var errShort = errors.New("ends early")

func (d *fileDecoder) fail(field string, err error) error {
	return &InputError{File: d.name, Offset: int64(d.base + d.off), Field: field, Err: err}
}

// u32 reads a uvarint of at most math.MaxUint32.
func (d *fileDecoder) u32(field string) (uint32, error) {
	v, err := d.uvarint(field, math.MaxUint32)
	return uint32(v), err
}

func (d *fileDecoder) uvarint(field string, max uint64) (uint64, error) {
	var x uint64
	var s uint
	for i := 0; ; i++ {
		if d.off+i >= len(d.p) {
			return 0, d.fail(field, errShort)
		}
		c := d.p[d.off+i]
		if i == 9 && c > 1 || i > 9 {
			return 0, d.fail(field, errors.New("varint overflows 64 bits"))
		}
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			if x > max {
				return 0, d.fail(field, fmt.Errorf("%d is more than %d", x, max))
			}
			d.off += i + 1
			return x, nil
		}
		s += 7
	}
}

// count reads a count of elements of at least minSize bytes each.
func (d *fileDecoder) count(field string, minSize int) (int, error) {
	n, err := d.uvarint(field, uint64((len(d.p)-d.off)/minSize))
	return int(n), err
}

func (d *fileDecoder) str(field string) (string, error) {
	n, err := d.uvarint(field, uint64(len(d.p)-d.off))
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.p)-d.off) { // the varint's own bytes are read now
		return "", d.fail(field, errShort)
	}
	s := d.p[d.off : d.off+int(n)]
	if !utf8.ValidString(s) {
		return "", d.fail(field, errors.New("invalid UTF-8"))
	}
	d.off += int(n)
	return s, nil
}

func (d *fileDecoder) float(field string) (float64, error) {
	if len(d.p)-d.off < 8 {
		return 0, d.fail(field, errShort)
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64([]byte(d.p[d.off : d.off+8])))
	d.off += 8
	return f, nil
}

func (d *fileDecoder) names(field string, langs []string, pool *[]Name) ([]Name, error) {
	n, err := d.count(field+" names", 2)
	if err != nil || n == 0 {
		return nil, err
	}
	if len(langs) == 0 {
		return nil, d.fail(field+" names", errors.New("names without languages"))
	}
	if cap(*pool)-len(*pool) < n {
		// A new chunk; the slices taken from the old one stay valid.
		*pool = make([]Name, 0, max(4096, n))
	}
	start := len(*pool)
	for range n {
		li, err := d.uvarint(field+" name language", uint64(len(langs)-1))
		if err != nil {
			return nil, err
		}
		s, err := d.str(field + " name")
		if err != nil {
			return nil, err
		}
		*pool = append(*pool, Name{Lang: langs[li], Name: s})
	}
	names := (*pool)[start:len(*pool):len(*pool)]
	for i := 1; i < len(names); i++ {
		if names[i-1].Lang >= names[i].Lang {
			return nil, d.fail(field+" names", errors.New("languages not sorted, or one twice"))
		}
	}
	return names, nil
}

func (d *fileDecoder) gazetteer() (*Gazetteer, error) {
	nl, err := d.count("languages", 1)
	if err != nil {
		return nil, err
	}
	langs := make([]string, nl)
	for i := range langs {
		if langs[i], err = d.str("language"); err != nil {
			return nil, err
		}
	}
	// Names come from chunks of a pool, so that loading allocates little.
	var pool []Name
	nc, err := d.count("countries", 3)
	if err != nil {
		return nil, err
	}
	countries := make([]Country, nc)
	for i := range countries {
		c := &countries[i]
		if c.Code, err = d.str("country code"); err != nil {
			return nil, err
		}
		if c.GeonameID, err = d.u32("country geoname_id"); err != nil {
			return nil, err
		}
		if c.Name, err = d.str("country name"); err != nil {
			return nil, err
		}
		if c.Names, err = d.names("country", langs, &pool); err != nil {
			return nil, err
		}
	}
	ns, err := d.count("subdivisions", 5)
	if err != nil {
		return nil, err
	}
	subs := make([]Subdivision, ns)
	for i := range subs {
		s := &subs[i]
		ci, err := d.uvarint("subdivision country", uint64(max(nc-1, 0)))
		if err != nil {
			return nil, err
		}
		s.Country = int32(ci)
		if s.Code, err = d.str("subdivision code"); err != nil {
			return nil, err
		}
		if s.GeonameID, err = d.u32("subdivision geoname_id"); err != nil {
			return nil, err
		}
		if s.Name, err = d.str("subdivision name"); err != nil {
			return nil, err
		}
		if s.Names, err = d.names("subdivision", langs, &pool); err != nil {
			return nil, err
		}
	}
	np, err := d.count("places", 22)
	if err != nil {
		return nil, err
	}
	places := make([]Place, np)
	for i := range places {
		p := &places[i]
		if p.GeonameID, err = d.u32("place geoname_id"); err != nil {
			return nil, err
		}
		if p.Lat, err = d.float("place latitude"); err != nil {
			return nil, err
		}
		if p.Lon, err = d.float("place longitude"); err != nil {
			return nil, err
		}
		if p.Population, err = d.u32("place population"); err != nil {
			return nil, err
		}
		ci, err := d.uvarint("place country", uint64(max(nc-1, 0)))
		if err != nil {
			return nil, err
		}
		p.Country = int32(ci)
		si, err := d.uvarint("place subdivision", uint64(ns))
		if err != nil {
			return nil, err
		}
		p.Subdivision = int32(si) - 1
		if p.Name, err = d.str("place name"); err != nil {
			return nil, err
		}
		if p.Names, err = d.names("place", langs, &pool); err != nil {
			return nil, err
		}
	}
	if d.off != len(d.p) {
		return nil, d.fail("", fmt.Errorf("%d bytes after the last place", len(d.p)-d.off))
	}
	g, err := New(countries, subs, places)
	if err != nil {
		return nil, &InputError{File: d.name, Offset: int64(d.base), Err: err}
	}
	g.id = fmt.Sprintf("sha256:%x", d.sum)
	return g, nil
}

// Write writes g in the gazetteer file format to w.
func (g *Gazetteer) Write(w io.Writer) error {
	_, err := w.Write(g.Append(nil))
	return err
}

// ID returns "sha256:" and the hex SHA-256 of g's file payload: equal
// gazetteers have equal IDs (the builder keys its ingests by it).
// It is computed once (encoding the whole gazetteer) and kept.
func (g *Gazetteer) ID() string {
	g.idOnce.Do(func() {
		if g.id == "" {
			b := g.Append(nil)
			g.id = fmt.Sprintf("sha256:%x", b[len(fileMagic)+2+8:headerLen])
		}
	})
	return g.id
}
