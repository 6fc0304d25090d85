package eval

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/schema"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/internal/mmdbtree"
	"github.com/ipatlas/ipatlas/reader"
)

// The fixed levels; hierarchy levels other than country and city follow.
const (
	levelCountry = iota
	levelSubdivision
	levelCity
	levelFirstRegion
)

// WithinKm are the distances of Result.WithinKm.
var WithinKm = [...]float64{1, 10, 20, 40, 100}

// Buckets is the number of confidence buckets of the calibration: equal
// widths over [0,1], the last one closed.
const Buckets = 10

// Options say how to read the truth and the databases.
type Options struct {
	// Levels is the region hierarchy of the truth's deeper level columns,
	// outermost first; nil means schema.DefaultLevels.
	Levels []string
	// Format and Compression of the truth file, as builder.Options has
	// them ("" picks by extension).
	Format, Compression string
	// Layout says where the databases keep location and country.
	Layout Layout
}

// Num is a figure that may be undefined (NaN), written to JSON as null.
type Num float64

// MarshalJSON writes the number, or null for NaN.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// ratio returns a/b, NaN when b is 0.
func ratio(a, b int) Num {
	if b == 0 {
		return Num(math.NaN())
	}
	return Num(float64(a) / float64(b))
}

// ErrorKm are statistics of the error distances, over the rows with a
// location.
type ErrorKm struct {
	Mean   Num `json:"mean"`
	Median Num `json:"median"`
	P90    Num `json:"p90"`
	Max    Num `json:"max"`
}

// Within are the shares of the rows with a location whose error is at
// most 1, 10, 20, 40 and 100 km.
type Within struct {
	Km1   Num `json:"1"`
	Km10  Num `json:"10"`
	Km20  Num `json:"20"`
	Km40  Num `json:"40"`
	Km100 Num `json:"100"`
}

// Bucket is one confidence bucket of a level's calibration: the rows
// whose record states a confidence in [Lo, Hi) (the last bucket
// includes 1), how many were correct, and their mean confidence.
type Bucket struct {
	Lo, Hi   float64
	Rows     int
	Correct  int
	MeanConf float64
}

// Level is the accuracy at one level of the hierarchy, over the truth
// rows that name it (a row whose address the database does not answer
// is wrong), and the calibration of the confidences the records state.
type Level struct {
	Rows     int `json:"rows"`
	Correct  int `json:"correct"`
	Accuracy Num `json:"accuracy"`
	// ECE is the expected calibration error: the mean, weighted by rows,
	// of |share correct - mean confidence| over the buckets, over the
	// rows whose record states a confidence; null when none does.
	ECE     Num      `json:"ece"`
	Buckets []Bucket `json:"-"`
}

// Result is one database's evaluation against the truth.
type Result struct {
	Database string `json:"database"`
	// Rows is the number of truth rows, Found those the database answers,
	// WithLocation those whose record has coordinates.
	Rows         int              `json:"rows"`
	Found        int              `json:"found"`
	WithLocation int              `json:"with_location"`
	ErrorKm      ErrorKm          `json:"error_km"`
	WithinKm     Within           `json:"within_km"`
	Levels       map[string]Level `json:"levels"`
	// RadiusHonesty is the share of the rows with a location and an
	// accuracy_radius whose error is at most that radius; null when no
	// record has a radius.
	RadiusHonesty Num `json:"radius_honesty"`

	// Errors are the error distances in km, ascending.
	Errors []float64 `json:"-"`
	// ByCountry are the error distances (unsorted) by the truth's
	// country code, for the rows that name one.
	ByCountry map[string][]float64 `json:"-"`
	// LevelOrder lists the keys of Levels in hierarchy order.
	LevelOrder []string `json:"-"`
}

// dbEval is the running evaluation of one database.
type dbEval struct {
	path string
	db   *reader.Reader
	ipv4 bool // an IPv4-only database
	flat bool // records read as flat
	memo map[uintptr]*answer
	// fast reads the records when the layout is the default one; nil
	// when it cannot (then decodeAnswer reads them all).
	fast   *fastDecoder
	tree   *mmdbtree.Tree
	levels []levelCount
	res    Result
	// errs are the error distances in row order, in chunks of
	// errChunk (no slice of a million grown by copies); byCountry the
	// same by the truth's country (an index in Evaluate's countries).
	errs       [][]float64
	byCountry  [][]float64
	radiusRows int
	radiusOK   int
	sum        float64
}

type levelCount struct {
	rows, correct int
	buckets       [Buckets]struct {
		rows, correct int
		conf          float64
	}
}

// errChunk is the length of a chunk of dbEval.errs.
const errChunk = 1 << 16

// memoLimit bounds the decoded records kept per database (1M random
// IPv4 addresses meet 130,610 records of GeoLite2-City).
const memoLimit = 1 << 18

// Evaluate evaluates each database against the truth file and returns
// one Result per database, in order. A bad truth row is a
// *builder.RowError naming the file, line and field; nothing is returned
// with it.
func Evaluate(truth string, databases []string, opts Options) ([]*Result, error) {
	levels := []string{"country", "subdivision", "city"}
	hier := opts.Levels
	if hier == nil {
		hier = schema.DefaultLevels
	}
	for _, l := range hier {
		if l != "country" && l != "city" && !slices.Contains(levels, l) {
			levels = append(levels, l)
		}
	}
	cols := map[string]int{"ip": colIP, "latitude": colLat, "longitude": colLon,
		"country_code": codeCell(levelCountry), "country": nameCell(levelCountry),
		"subdivision_code": codeCell(levelSubdivision), "subdivision": nameCell(levelSubdivision),
		"city_code": codeCell(levelCity), "city": nameCell(levelCity)}
	for i := levelFirstRegion; i < len(levels); i++ {
		cols[levels[i]+"_code"] = codeCell(i)
		cols[levels[i]] = nameCell(i)
	}
	var dbs []*dbEval
	defer func() {
		for _, d := range dbs {
			d.db.Close()
			if d.tree != nil {
				d.tree.Close()
			}
		}
	}()
	for _, p := range databases {
		db, err := reader.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		d := &dbEval{path: p, db: db, ipv4: db.Metadata.IPVersion == 4, memo: map[uintptr]*answer{},
			levels: make([]levelCount, len(levels)), res: Result{Database: p}}
		dbs = append(dbs, d)
		if opts.Layout.defaultPaths() {
			// The same file mapped once more, for its data section's
			// bytes; where that fails, decodeAnswer reads every record.
			if t, err := mmdbtree.Open(p); err == nil {
				d.tree, d.fast = t, newFastDecoder(t.Dec)
			}
		}
	}
	var countries []string
	countryIdx := map[string]int32{}
	column := func(name string) (int, bool) {
		c, ok := cols[name]
		return c, ok
	}
	bopts := builder.Options{Format: opts.Format, Compression: opts.Compression}
	ncells := nameCell(len(levels)-1) + 1
	// This goroutine parses and checks the truth; another one looks its
	// rows up: two cores for one file. Rows go over in batches, in order.
	// Batches go back to the parser once looked up, so that the rows of
	// a file cost no allocation here.
	const batchRows = 1024
	batches := make(chan *batch, 4)
	free := make(chan *batch, 8)
	var lookErr error // set by the lookup goroutine before done closes
	var failed atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range batches {
			if lookErr == nil {
			rows:
				for i := range b.rows {
					r := &b.rows[i]
					for _, d := range dbs {
						if err := d.row(r, b.cells[r.lo:r.hi], &opts.Layout, levels); err != nil {
							lookErr = err
							failed.Store(true)
							break rows
						}
					}
				}
			}
			select {
			case free <- b:
			default:
			}
		}
	}()
	newBatch := func() *batch {
		select {
		case b := <-free:
			b.rows, b.cells = b.rows[:0], b.cells[:0]
			return b
		default:
			return &batch{rows: make([]parsedRow, 0, batchRows), cells: make([]levelCell, 0, 2*batchRows)}
		}
	}
	b := newBatch()
	errStop := errors.New("stopped")
	err := builder.ReadTable(truth, bopts, ncells, column, func(line int, cells []string) error {
		if failed.Load() {
			return errStop
		}
		rowErr := func(field string, err error) error {
			return &builder.RowError{File: truth, Line: line, Field: field, Err: err}
		}
		if cells[colIP] == "" {
			return rowErr("ip", errors.New("missing"))
		}
		addr, err := netip.ParseAddr(cells[colIP])
		if err != nil || addr.Zone() != "" {
			return rowErr("ip", fmt.Errorf("not an IP address (got %q)", cells[colIP]))
		}
		addr = addr.Unmap()
		lat, err := coordinate(cells[colLat], 90)
		if err != nil {
			return rowErr("latitude", err)
		}
		lon, err := coordinate(cells[colLon], 180)
		if err != nil {
			return rowErr("longitude", err)
		}
		cc := int32(-1)
		if code := cells[codeCell(levelCountry)]; code != "" {
			code = strings.ToUpper(code)
			i, ok := countryIdx[code]
			if !ok {
				i = int32(len(countries))
				countries = append(countries, code)
				countryIdx[code] = i
			}
			cc = i
		}
		// The levels the row names, in order. The strings are
		// immutable; only the slice is ReadTable's.
		lo := len(b.cells)
		for i := range levels {
			if code, name := cells[codeCell(i)], cells[nameCell(i)]; code != "" || name != "" {
				b.cells = append(b.cells, levelCell{level: i, code: code, name: name})
			}
		}
		b.rows = append(b.rows, parsedRow{addr: addr, lat: lat, lon: lon, country: cc, lo: int32(lo), hi: int32(len(b.cells))})
		if len(b.rows) == batchRows {
			batches <- b
			b = newBatch()
		}
		return nil
	})
	if err == nil && len(b.rows) > 0 {
		batches <- b
	}
	close(batches)
	<-done
	if lookErr != nil {
		return nil, lookErr
	}
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(dbs))
	for i, d := range dbs {
		out[i] = d.finish(levels, countries)
	}
	return out, nil
}

// parsedRow is a checked truth row.
type parsedRow struct {
	addr     netip.Addr
	lat, lon float64
	country  int32 // index in the countries met, -1 for none
	// lo and hi delimit the row's levelCells in its batch.
	lo, hi int32
}

// levelCell is a level a truth row names: its code and name cells, one
// of them not empty.
type levelCell struct {
	level      int
	code, name string
}

// batch is a run of truth rows handed from the parser to the lookups.
type batch struct {
	rows  []parsedRow
	cells []levelCell
}

// Truth columns: ip, latitude, longitude, then a code and a name cell per
// level.
const (
	colIP = iota
	colLat
	colLon
	colLevels
)

func codeCell(level int) int { return colLevels + 2*level }
func nameCell(level int) int { return colLevels + 2*level + 1 }

// coordinate parses a latitude or longitude within [-limit, limit].
func coordinate(s string, limit float64) (float64, error) {
	if s == "" {
		return 0, errors.New("missing")
	}
	f, err := schema.ParseDecimal(strings.TrimSpace(s))
	if errors.Is(err, strconv.ErrRange) {
		f = math.Inf(1) // out of range of a float64: outside [-limit, limit]
	} else if err != nil {
		return 0, fmt.Errorf("not a decimal number (got %s)", schema.QuoteCell(s))
	}
	if f < -limit || f > limit {
		return 0, fmt.Errorf("outside [%g,%g] (got %s)", -limit, limit, schema.QuoteCell(s))
	}
	return f, nil
}

// row evaluates one truth row against d.
func (d *dbEval) row(r *parsedRow, cells []levelCell, layout *Layout, levels []string) error {
	addr, lat, lon, country := r.addr, r.lat, r.lon, r.country
	none := levelAnswer{conf: -1}
	d.res.Rows++
	var a *answer
	if !(d.ipv4 && addr.Is6()) {
		res := d.db.Lookup(addr)
		if err := res.Err(); err != nil {
			return fmt.Errorf("%s: %s: %w", d.path, addr, err)
		}
		if res.Found() {
			off := res.Offset()
			var ok bool
			if a, ok = d.memo[off]; !ok {
				if d.fast != nil && !d.flat {
					a, ok = d.fast.answer(uint(off), levels)
				}
				if !ok {
					var err error
					if a, err = decodeAnswer(res, layout, levels, &d.flat); err != nil {
						return fmt.Errorf("%s: record of %s: %w", d.path, addr, err)
					}
				}
				if len(d.memo) >= memoLimit {
					clear(d.memo)
				}
				d.memo[off] = a
			}
		}
	}
	if a != nil {
		d.res.Found++
		if a.hasLoc {
			e := geo.Distance(lat, lon, a.lat, a.lon)
			d.res.WithLocation++
			if n := len(d.errs); n == 0 || len(d.errs[n-1]) == errChunk {
				d.errs = append(d.errs, make([]float64, 0, errChunk))
			}
			last := &d.errs[len(d.errs)-1]
			*last = append(*last, e)
			if country >= 0 {
				for int(country) >= len(d.byCountry) {
					d.byCountry = append(d.byCountry, nil)
				}
				d.byCountry[country] = append(d.byCountry[country], e)
			}
			d.sum += e
			if a.radius >= 0 {
				d.radiusRows++
				if e <= a.radius {
					d.radiusOK++
				}
			}
		}
	}
	for _, c := range cells {
		i, code, name := c.level, c.code, c.name
		lc := &d.levels[i]
		lc.rows++
		if a == nil {
			continue
		}
		// An answer may end before the levels that say nothing.
		la := &none
		if i < len(a.levels) {
			la = &a.levels[i]
		}
		ok := la.matches(i, code, name)
		if ok {
			lc.correct++
		}
		if la.conf >= 0 {
			b := &lc.buckets[min(int(la.conf*Buckets), Buckets-1)]
			b.rows++
			b.conf += la.conf
			if ok {
				b.correct++
			}
		}
	}
	return nil
}

// finish computes the figures.
func (d *dbEval) finish(levels, countries []string) *Result {
	r := &d.res
	r.ByCountry = map[string][]float64{}
	for c, errs := range d.byCountry {
		if len(errs) > 0 {
			r.ByCountry[countries[c]] = errs
		}
	}
	n := 0
	for _, c := range d.errs {
		n += len(c)
	}
	if n > 0 {
		r.Errors = make([]float64, 0, n)
		for _, c := range d.errs {
			r.Errors = append(r.Errors, c...)
		}
	}
	d.errs = nil
	slices.Sort(r.Errors)
	nan := Num(math.NaN())
	r.ErrorKm = ErrorKm{nan, nan, nan, nan}
	if n > 0 {
		r.ErrorKm = ErrorKm{Mean: Num(d.sum / float64(n)), Median: Num(Median(r.Errors)), P90: Num(Quantile(r.Errors, 0.9)), Max: Num(r.Errors[n-1])}
	}
	w := [len(WithinKm)]Num{}
	for i, k := range WithinKm {
		// Errors is sorted: the count at most k is where k+ would go.
		c, _ := slices.BinarySearchFunc(r.Errors, k, func(e, k float64) int {
			if e <= k {
				return -1
			}
			return 1
		})
		w[i] = ratio(c, n)
	}
	r.WithinKm = Within{w[0], w[1], w[2], w[3], w[4]}
	r.RadiusHonesty = ratio(d.radiusOK, d.radiusRows)
	r.Levels = map[string]Level{}
	for i, lc := range d.levels {
		if lc.rows == 0 {
			continue
		}
		l := Level{Rows: lc.rows, Correct: lc.correct, Accuracy: ratio(lc.correct, lc.rows)}
		total := 0
		for _, b := range lc.buckets {
			total += b.rows
		}
		ece := 0.0
		for j, b := range lc.buckets {
			bk := Bucket{Lo: float64(j) / Buckets, Hi: float64(j+1) / Buckets, Rows: b.rows, Correct: b.correct}
			if b.rows > 0 {
				bk.MeanConf = b.conf / float64(b.rows)
				ece += float64(b.rows) / float64(total) * math.Abs(float64(b.correct)/float64(b.rows)-bk.MeanConf)
			}
			l.Buckets = append(l.Buckets, bk)
		}
		l.ECE = nan
		if total > 0 {
			l.ECE = Num(ece)
		}
		r.Levels[levels[i]] = l
		r.LevelOrder = append(r.LevelOrder, levels[i])
	}
	return r
}

// Median returns the median of sorted (the mean of the middle two when
// the count is even); NaN when empty.
func Median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Quantile returns the q-quantile of sorted by the nearest-rank method:
// the smallest value with at least q of the values at or below it; NaN
// when empty.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	// The factor keeps 0.9*10 (9.000000000000002 in floating point) at 9.
	k := int(math.Ceil(q*float64(n)*(1-1e-12))) - 1
	return sorted[min(max(k, 0), n-1)]
}
