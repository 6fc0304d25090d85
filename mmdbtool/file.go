package mmdbtool

import (
	"errors"
	"fmt"
	"iter"
	"net/netip"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/mmapfile"
	"github.com/ipatlas/ipatlas/internal/mmdbtree"
	"github.com/ipatlas/ipatlas/reader"
)

// mapping is a whole file, memory-mapped where the file system allows,
// else read into memory.
type mapping struct {
	buf    []byte
	mapped bool
}

// mapFile maps the regular file at path read-only. Errors name the file,
// except those of opening it (reader.OpenRegular's, which do); an empty
// file is an error.
func mapFile(path string) (mapping, error) {
	f, err := reader.OpenRegular(path)
	if err != nil {
		return mapping{}, err
	}
	defer f.Close() //nolint:errcheck // read-only
	buf, mapped, err := mmapfile.Whole(f)
	if err != nil {
		return mapping{}, fmt.Errorf("%s: %w", path, err)
	}
	return mapping{buf: buf, mapped: mapped}, nil
}

// unmap releases m; its bytes must not be used afterwards.
func (m *mapping) unmap() error {
	b, mapped := m.buf, m.mapped
	m.buf, m.mapped = nil, false
	if !mapped {
		return nil
	}
	return mmapfile.Unmap(b)
}

// File is a MaxMind DB file opened for walks over its search tree:
// Networks, WriteJSONL, WriteCSV and Diff read it. Create it with Open or
// FromBytes. A File is not safe for concurrent use.
type File struct {
	t *mmdbtree.Tree
	m mapping
	// budget is the tree's visit budget when opened: every walk starts
	// with all of it.
	budget int
	json   *recordJSON
}

// Open memory-maps the .mmdb file at path (where the file system cannot
// map files, it is read instead) and parses its metadata and the shape
// of its search tree. A path that is not a regular file is refused
// without blocking, with an error wrapping reader.ErrNotRegular. Close
// releases the mapping.
func Open(path string) (*File, error) {
	m, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := FromBytes(path, m.buf)
	if err != nil {
		_ = m.unmap()
		return nil, err
	}
	f.m = m
	return f, nil
}

// FromBytes parses the .mmdb file held in b, which must not change while
// the File is in use; path names it in errors.
func FromBytes(path string, b []byte) (*File, error) {
	t, err := mmdbtree.FromBytes(path, b)
	if err != nil {
		return nil, err
	}
	f := &File{t: t, budget: t.Budget}
	f.json = newRecordJSON(path, t.Dec)
	return f, nil
}

// Close unmaps the file of a File made by Open. The File, and every
// slice its methods returned, must not be used afterwards.
func (f *File) Close() error { return f.m.unmap() }

// Path returns the name the file was opened by.
func (f *File) Path() string { return f.t.Path }

// Metadata returns the file's metadata.
func (f *File) Metadata() format.Metadata { return f.t.DB.Metadata }

// Nodes returns the number of nodes of the search tree.
func (f *File) Nodes() uint { return f.t.Nodes }

// Visited returns the number of node visits of the walks so far. It may
// be called while a walk runs, from another goroutine (for a progress
// line).
func (f *File) Visited() int64 { return f.t.Visited.Load() }

// startWalk gives the tree its full visit budget for one more walk.
func (f *File) startWalk() *mmdbtree.Tree {
	f.t.Budget = f.budget
	return f.t
}

// Record decodes the record at data offset off (as Networks yields it).
func (f *File) Record(off uint) (format.Value, error) {
	v, _, err := f.t.Dec.Value(off)
	if err != nil {
		return nil, fmt.Errorf("%s: record at data offset %d: %w", f.t.Path, off, err)
	}
	return v, nil
}

// AppendRecordJSON appends the lossless JSON form of the record at data
// offset off: exactly mmdbjson.AppendJSON of the value Record returns, made
// faster by reusing the JSON of values that records share through
// pointers.
func (f *File) AppendRecordJSON(dst []byte, off uint) ([]byte, error) {
	return f.json.appendRecord(dst, off)
}

// Aliases says which aliases of the IPv4 subtree of an IPv6 tree a walk
// follows: the records outside ::/96 that lead to the IPv4 data
// (::ffff:0:0/96 and 2002::/16 in ipatlas's and MaxMind's files,
// 2001::/32 in MaxMind's too).
type Aliases uint8

const (
	// AliasesNone follows none: each network once, IPv4 as IPv4.
	AliasesNone Aliases = iota
	// AliasesTeredo follows those inside 2001::/32 (Teredo).
	AliasesTeredo
	// AliasesAll follows all of them.
	AliasesAll
)

var aliasNames = [...]string{"none", "teredo", "all"}

// String returns the name ParseAliases takes.
func (a Aliases) String() string {
	if int(a) < len(aliasNames) {
		return aliasNames[a]
	}
	return fmt.Sprintf("Aliases(%d)", uint8(a))
}

// ParseAliases returns the Aliases named none, teredo or all.
func ParseAliases(s string) (Aliases, error) {
	for i, n := range aliasNames {
		if s == n {
			return Aliases(i), nil
		}
	}
	return 0, fmt.Errorf("aliases %q: want none, teredo or all", s)
}

// follows reports whether a walk following a enters an alias met at
// the given path and depth.
func (a Aliases) follows(path [16]byte, depth int) bool {
	teredo := depth >= 32 && [4]byte(path[:4]) == [4]byte{0x20, 0x01, 0, 0}
	return a == AliasesAll || a == AliasesTeredo && teredo
}

// Network is a network with data and the data offset of its record.
type Network struct {
	// Prefix is the network: IPv4 in an IPv4 tree and inside ::/96 of an
	// IPv6 tree, else IPv6 (aliased networks included).
	Prefix netip.Prefix
	// Offset is the record's offset in the data section, for Record and
	// AppendRecordJSON. Networks that share a record share an offset.
	Offset uint
}

// errStop ends a walk whose consumer stopped iterating.
var errStop = errors.New("mmdbtool: iteration stopped")

// Networks returns an iterator over every network of f that has data, in
// address order. Aliases of the IPv4 subtree are followed as a says,
// their networks given as the IPv6 networks they are. A corrupt tree
// ends the iteration with one (Network{}, error) pair naming the file;
// the walk visits at most 64 times the tree's node count, so it ends.
func (f *File) Networks(a Aliases) iter.Seq2[Network, error] {
	return func(yield func(Network, error) bool) {
		err := f.startWalk().Walk(a.follows, func(p netip.Prefix, off uint) error {
			if !yield(Network{p, off}, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(Network{}, err)
		}
	}
}
