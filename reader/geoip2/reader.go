package geoip2

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ipatlas/ipatlas/reader"
)

type dbType uint8

const (
	isCity dbType = 1 << iota
	isCountry
	isEnterprise
	isASN
	isAtlas
)

// InvalidMethodError reports a lookup method that does not fit the
// database type (City on an ASN database, ...), as geoip2-golang's does.
type InvalidMethodError struct {
	Method       string
	DatabaseType string
}

// Error returns the message.
func (e InvalidMethodError) Error() string {
	return fmt.Sprintf(`geoip2: the %s method does not support the %s database`, e.Method, e.DatabaseType)
}

// UnknownDatabaseTypeError reports a database type that no model fits.
type UnknownDatabaseTypeError struct {
	DatabaseType string
}

// Error returns the message.
func (e UnknownDatabaseTypeError) Error() string {
	return fmt.Sprintf(`geoip2: reader does not support the %q database type`, e.DatabaseType)
}

func typeOf(t string) (dbType, error) {
	switch t {
	case "DBIP-ASN-Lite (compat=GeoLite2-ASN)", "GeoLite2-ASN":
		return isASN, nil
	case "DBIP-City-Lite", "DBIP-Country-Lite", "DBIP-Country", "DBIP-Location (compat=City)",
		"GeoLite2-City", "GeoIP-City-Redacted-US", "GeoIP2-City", "GeoIP2-City-Africa",
		"GeoIP2-City-Asia-Pacific", "GeoIP2-City-Europe", "GeoIP2-City-North-America",
		"GeoIP2-City-South-America", "GeoIP2-Precision-City", "GeoLite2-Country", "GeoIP2-Country":
		return isCity | isCountry, nil
	case "DBIP-ISP (compat=Enterprise)", "DBIP-Location-ISP (compat=Enterprise)",
		"GeoIP-Enterprise-Redacted-US", "GeoIP2-Enterprise":
		return isEnterprise | isCity | isCountry, nil
	case "GeoIP2-ISP", "GeoIP2-Precision-ISP":
		return isASN, nil
	case "GeoIP-Anonymous-Plus", "GeoIP2-Anonymous-IP", "GeoIP2-Connection-Type", "GeoIP2-Domain":
		// Known to geoip2-golang, with models this package does not
		// have: the database opens, and every method here reports
		// InvalidMethodError, as geoip2-golang's City etc. do.
		return 0, nil
	}
	if strings.HasPrefix(t, "ipatlas") {
		return isAtlas | isEnterprise | isCity | isCountry, nil
	}
	return 0, UnknownDatabaseTypeError{t}
}

// Reader answers typed lookups. Decoded records are cached by data offset
// and shared: the *Shared methods return the cached record itself (no
// allocation once the record is cached), the geoip2-golang-style methods
// (City, Country, ...) return a private copy with the per-lookup traits
// filled in. A Reader is safe for concurrent use by any number of
// goroutines.
type Reader struct {
	db     *reader.Reader
	typ    dbType
	cities model[City]
	counts model[Country]
	ents   model[Enterprise]
	asns   model[ASN]
	atlas  model[Atlas]
}

// Option configures Open and OpenBytes.
type Option func(*options)

type options struct {
	reader    []reader.ReaderOption
	cacheSize int
}

// WithReaderOptions passes options to the underlying reader.
func WithReaderOptions(o ...reader.ReaderOption) Option {
	return func(opts *options) { opts.reader = append(opts.reader, o...) }
}

// DefaultCacheSize is how many decoded records of each model the cache
// keeps by default.
const DefaultCacheSize = 1 << 18

// WithCacheSize bounds the record cache of each model to about n records
// (at least 64 and at most twice the database's node count, the most
// records its tree can point at; rounded up to a power of two). The cache is 4-way set
// associative: a record whose set is full replaces one of the set's four.
func WithCacheSize(n int) Option {
	return func(opts *options) { opts.cacheSize = max(n, 64) }
}

func parseOptions(opts []Option) (options, error) {
	o := options{cacheSize: DefaultCacheSize}
	for i, f := range opts {
		if f == nil {
			return o, fmt.Errorf("geoip2: option %d of %d is a nil Option", i+1, len(opts))
		}
		f(&o)
	}
	return o, nil
}

// errNilReader is what the lookups of a nil *Reader return (the zero
// Handle holds one).
var errNilReader = errors.New("geoip2: no database (a nil *Reader)")

// Open opens a database file (memory-mapped) for typed lookups.
func Open(file string, opts ...Option) (*Reader, error) {
	o, err := parseOptions(opts)
	if err != nil {
		return nil, err
	}
	db, err := reader.Open(file, o.reader...)
	if err != nil {
		return nil, err
	}
	r, err := newReader(db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// OpenBytes is Open for a database in memory.
func OpenBytes(b []byte, opts ...Option) (*Reader, error) {
	o, err := parseOptions(opts)
	if err != nil {
		return nil, err
	}
	db, err := reader.OpenBytes(b, o.reader...)
	if err != nil {
		return nil, err
	}
	return newReader(db, o)
}

func newReader(db *reader.Reader, o options) (*Reader, error) {
	t, err := typeOf(db.Metadata.DatabaseType)
	if err != nil {
		return nil, err
	}
	r := &Reader{db: db, typ: t}
	// A tree of n nodes points at no more than 2n records: a larger
	// cache would stay empty, and a size near math.MaxInt would overflow
	// the table's sizing.
	n := min(o.cacheSize, max(2*int(min(db.Metadata.NodeCount, math.MaxInt32)), 64))
	r.cities.init(n, "City", isCity, cloneCity, func(c *City, ip netip.Addr, p netip.Prefix) { c.Traits.IPAddress, c.Traits.Network = ip, p })
	r.counts.init(n, "Country", isCountry, cloneFlat, func(c *Country, ip netip.Addr, p netip.Prefix) { c.Traits.IPAddress, c.Traits.Network = ip, p })
	r.ents.init(n, "Enterprise", isEnterprise, cloneEnterprise, func(c *Enterprise, ip netip.Addr, p netip.Prefix) { c.Traits.IPAddress, c.Traits.Network = ip, p })
	r.asns.init(n, "ASN", isASN, cloneFlat, func(c *ASN, ip netip.Addr, p netip.Prefix) { c.IPAddress, c.Network = ip, p })
	r.atlas.init(n, "Atlas", isAtlas, nil, nil)
	return r, nil
}

// Metadata returns the database's metadata.
func (r *Reader) Metadata() reader.Metadata {
	if r == nil {
		return reader.Metadata{}
	}
	return r.db.Metadata
}

// DB returns the underlying reader.
func (r *Reader) DB() *reader.Reader {
	if r == nil {
		return nil
	}
	return r.db
}

// Close closes the underlying reader. It must not run concurrently with
// lookups (see Handle).
func (r *Reader) Close() error {
	if r == nil {
		return errNilReader
	}
	return r.db.Close()
}

// model is the lookups of one record type: its cache, the database types
// it fits, and how the caller's private copy of a record is made.
type model[T any] struct {
	cache[T]
	method string // the lookup's name, for InvalidMethodError
	flag   dbType
	clone  func(*T) *T                        // a deep copy (clone.go)
	place  func(*T, netip.Addr, netip.Prefix) // sets the per-lookup address and network
}

func (m *model[T]) init(size int, method string, flag dbType, clone func(*T) *T, place func(*T, netip.Addr, netip.Prefix)) {
	m.cache.init(size)
	m.method, m.flag, m.clone, m.place = method, flag, clone, place
}

// shared finds ip and returns its record from the cache, decoding and
// caching it on a miss. A missing record is the shared zero record.
func (m *model[T]) shared(r *Reader, ip netip.Addr) (*T, netip.Prefix, error) {
	if r.typ&m.flag == 0 {
		return nil, netip.Prefix{}, InvalidMethodError{m.method, r.db.Metadata.DatabaseType}
	}
	c := &m.cache
	res := r.db.Lookup(ip)
	if err := res.Err(); err != nil {
		return c.zero, res.Prefix(), err
	}
	if !res.Found() {
		return c.zero, res.Prefix(), nil
	}
	off := uint(res.Offset())
	if v := c.get(off); v != nil {
		return v, res.Prefix(), nil
	}
	e := c.newEntry(off)
	if err := res.Decode(&e.v); err != nil {
		return c.zero, res.Prefix(), err
	}
	return c.put(e), res.Prefix(), nil
}

// private returns the caller's own copy of ip's record with the address
// and network set: a deep copy, or a new zero record for an address
// without data (no copy to make).
func (m *model[T]) private(r *Reader, ip netip.Addr) (*T, error) {
	v, p, err := m.shared(r, ip)
	if v == nil {
		return nil, err
	}
	var c *T
	if v == m.zero {
		c = new(T)
	} else {
		c = m.clone(v)
	}
	if err == nil {
		m.place(c, ip, p)
	}
	return c, err
}

// CityShared returns the shared City record of ip and the network it is
// in. The record must not be modified; its Traits.IPAddress and
// Traits.Network are zero. It does not allocate once the record is cached.
func (r *Reader) CityShared(ip netip.Addr) (*City, netip.Prefix, error) {
	if r == nil {
		return nil, netip.Prefix{}, errNilReader
	}
	return r.cities.shared(r, ip)
}

// City returns the City record of ip, as geoip2-golang's City does: a
// private copy with Traits.IPAddress and Traits.Network set.
func (r *Reader) City(ip netip.Addr) (*City, error) {
	if r == nil {
		return nil, errNilReader
	}
	return r.cities.private(r, ip)
}

// CountryShared is CityShared for the Country model.
func (r *Reader) CountryShared(ip netip.Addr) (*Country, netip.Prefix, error) {
	if r == nil {
		return nil, netip.Prefix{}, errNilReader
	}
	return r.counts.shared(r, ip)
}

// Country returns a private copy of the Country record of ip with the
// traits set.
func (r *Reader) Country(ip netip.Addr) (*Country, error) {
	if r == nil {
		return nil, errNilReader
	}
	return r.counts.private(r, ip)
}

// EnterpriseShared is CityShared for the Enterprise model.
func (r *Reader) EnterpriseShared(ip netip.Addr) (*Enterprise, netip.Prefix, error) {
	if r == nil {
		return nil, netip.Prefix{}, errNilReader
	}
	return r.ents.shared(r, ip)
}

// Enterprise returns a private copy of the Enterprise record of ip with
// the traits set.
func (r *Reader) Enterprise(ip netip.Addr) (*Enterprise, error) {
	if r == nil {
		return nil, errNilReader
	}
	return r.ents.private(r, ip)
}

// ASNShared is CityShared for the ASN model.
func (r *Reader) ASNShared(ip netip.Addr) (*ASN, netip.Prefix, error) {
	if r == nil {
		return nil, netip.Prefix{}, errNilReader
	}
	return r.asns.shared(r, ip)
}

// ASN returns a private copy of the ASN record of ip with IPAddress and
// Network set.
func (r *Reader) ASN(ip netip.Addr) (*ASN, error) {
	if r == nil {
		return nil, errNilReader
	}
	return r.asns.private(r, ip)
}

// AtlasShared returns the shared ipatlas record of ip (ipatlas databases
// only) and the network it is in.
func (r *Reader) AtlasShared(ip netip.Addr) (*Atlas, netip.Prefix, error) {
	if r == nil {
		return nil, netip.Prefix{}, errNilReader
	}
	return r.atlas.shared(r, ip)
}

// cacheWays is the associativity of the record cache: a record can sit in
// any of the 4 slots of its set, which share one cache line.
const cacheWays = 4

// cache maps data offsets to decoded, immutable records. It is a
// set-associative table of atomic pointers, allocated on first use: a
// lookup reads one set (one cache line) and takes no lock, so readers on
// many cores do not contend. A slot's entry is replaced whole; records are
// never modified once stored, so a pointer handed out stays valid and
// consistent after eviction.
type cache[T any] struct {
	zero *T // the shared record of addresses without data
	size int
	once sync.Once
	sets []cacheSet[T] // len a power of two
}

type cacheSet[T any] struct {
	slot [cacheWays]atomic.Pointer[cacheEntry[T]]
}

type cacheEntry[T any] struct {
	off uint
	v   T
}

func (c *cache[T]) init(size int) {
	c.zero = new(T)
	c.size = size
}

// setOf returns the set for off; the table is allocated on first use, so
// models a program never asks for cost nothing.
func (c *cache[T]) setOf(off uint) *cacheSet[T] {
	c.once.Do(func() {
		n := 1
		for n*cacheWays < c.size {
			n <<= 1
		}
		c.sets = make([]cacheSet[T], n)
	})
	h := uint64(off) * 0x9E3779B97F4A7C15
	return &c.sets[h>>32&uint64(len(c.sets)-1)]
}

func (c *cache[T]) get(off uint) *T {
	s := c.setOf(off)
	for i := range s.slot {
		if e := s.slot[i].Load(); e != nil && e.off == off {
			return &e.v
		}
	}
	return nil
}

// newEntry returns an entry for off to decode a record into.
func (c *cache[T]) newEntry(off uint) *cacheEntry[T] { return &cacheEntry[T]{off: off} }

// put stores e unless its offset is already cached, and returns the stored
// record. A full set loses the entry in the slot the offset picks.
func (c *cache[T]) put(e *cacheEntry[T]) *T {
	s := c.setOf(e.off)
	for i := range s.slot {
		old := s.slot[i].Load()
		if old == nil {
			if s.slot[i].CompareAndSwap(nil, e) {
				return &e.v
			}
			old = s.slot[i].Load()
		}
		if old != nil && old.off == e.off {
			return &old.v
		}
	}
	s.slot[e.off%cacheWays].Store(e)
	return &e.v
}
