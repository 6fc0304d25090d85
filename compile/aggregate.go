package compile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/schema"
)

// Aggregation is a lossy merging policy (SPEC.md, "Aggregation"): adjacent
// networks whose region path is the same down to Level merge into one
// prefix (or the fewest CIDRs of their span). The zero value is "exact":
// only identical records merge, as format.Writer does anyway.
type Aggregation struct {
	// Level is the deepest region level the path compares ("city"), ""
	// for exact.
	Level string
	// MaxMergeKm, when > 0, keeps every member of a merged network within
	// that many km of the merged location.
	MaxMergeKm float64
}

// ParseAggregation reads "exact", "region" (region:city) or
// "region:LEVEL".
func ParseAggregation(s string) (Aggregation, error) {
	switch {
	case s == "" || s == "exact":
		return Aggregation{}, nil
	case s == "region":
		return Aggregation{Level: "city"}, nil
	case strings.HasPrefix(s, "region:") && len(s) > len("region:"):
		return Aggregation{Level: s[len("region:"):]}, nil
	}
	return Aggregation{}, fmt.Errorf("aggregation %q: want exact, region or region:LEVEL", s)
}

// String returns the policy in the form ParseAggregation reads.
func (a Aggregation) String() string {
	if a.Level == "" {
		return "exact"
	}
	return "region:" + a.Level
}

// AggregateStats says what aggregation did. Distances are the error it
// added: from each member network's own point to the location of the
// network it was merged into, weighted by the member's addresses
// (members left alone count with 0).
type AggregateStats struct {
	// NetworksIn and NetworksOut count the disjoint networks before and
	// after aggregation (before format.Writer merges equal siblings).
	NetworksIn, NetworksOut int
	// Groups is the number of merged networks made of two members or
	// more; Members the networks they hold.
	Groups, Members int
	// GapAddresses counts the addresses no stored network held that a
	// merged network now answers (gaps between members; see maxGap).
	GapAddresses float64
	// Addresses is the total weight of the distances: the addresses of
	// the networks with a location.
	Addresses float64
	// MeanKm, MedianKm and MaxKm are the address-weighted mean, median
	// and maximum error. MedianKm comes from a histogram of bins 1% wide
	// (above 1 m), so it is within 1% of the exact weighted median.
	MeanKm, MedianKm, MaxKm float64
}

// maxGap is the largest run of addresses without a stored network that a
// merged network may bridge: 256 (a /24's worth) between IPv4 members,
// 2^64 (a /64's) between IPv6 members. Larger gaps end a group, so that
// aggregation never claims a large unanswered space for one city.
const (
	maxGap4 = 256
	maxGap6 = math.MaxUint64
)

// maxMembers bounds the members a group buffers (for its radius and
// distance error): a longer run is cut into several groups. Memory of
// aggregation is O(maxMembers), whatever the number of networks.
const maxMembers = 1 << 16

// member is one network of a group: its point, its weight (addresses)
// and accuracy radius.
type member struct {
	lat, lon, w, acc float64
}

// aggregator merges a stream of disjoint networks in address order. It
// holds one open group: a run of networks with the same path key.
type aggregator struct {
	policy Aggregation
	emit   func(p netip.Prefix, value []byte, record uint64) error
	stats  AggregateStats
	hist   [histBins]float64
	sumWD  float64

	// The open group, when len(members) > 0.
	key   []byte
	first struct {
		p      netip.Prefix
		value  []byte
		record uint64
	}
	lo, hi   netip.Addr // the group's span, in tree space
	v4       bool
	path     []schema.Region
	levels   []string
	lang     string
	source   string
	model    string
	mixed    struct{ source, model bool }
	centroid geo.Centroid
	members  []member
	// boundKm bounds the members' distance to the centroid (D checks).
	boundKm        float64
	confSum, confW []float64 // per path level
	overall, overW float64
	keyBuf         []byte
	firstBuf       []byte

	// reached counts the networks whose regions reach the policy's level;
	// when none does, seenLevels (at most maxSeenLevels names) tells the
	// user which levels the data has, so a typo (region:cty) is an error
	// rather than a database merged nowhere.
	reached, located int
	seenLevels       []string
}

// maxSeenLevels bounds the level names kept for the error of a level no
// network reaches.
const maxSeenLevels = 16

func newAggregator(policy Aggregation, emit func(netip.Prefix, []byte, uint64) error) *aggregator {
	return &aggregator{policy: policy, emit: emit}
}

// weight is the number of addresses of p.
func weight(p netip.Prefix) float64 {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return math.Ldexp(1, bits-p.Bits())
}

// pathKey appends the identity of in's regions down to level: each
// level's name, geoname_id or else code and name, and the names'
// language. It returns false when in does not reach level or has no
// location.
func pathKey(b []byte, in *schema.Inference, level string) ([]byte, int, bool) {
	if !in.HasLocation {
		return b, 0, false
	}
	for i, r := range in.Regions {
		b = append(b, r.Level...)
		b = append(b, 0)
		if r.GeonameID != 0 {
			b = binary.LittleEndian.AppendUint32(append(b, 'g'), r.GeonameID)
		} else {
			b = append(append(append(append(b, 'n'), r.Code...), 0), r.Name...)
		}
		b = append(b, 0)
		if r.Level == level {
			b = append(b, in.NamesLang...)
			return b, i + 1, true
		}
	}
	return b, 0, false
}

// add takes the next network (in address order, disjoint from those
// before).
func (a *aggregator) add(p netip.Prefix, value []byte, record uint64) error {
	a.stats.NetworksIn++
	in, ok := decodeInference(value)
	var depth int
	if ok {
		a.keyBuf, depth, ok = pathKey(a.keyBuf[:0], &in, a.policy.Level)
		if ok {
			a.reached++
		} else if in.HasLocation && a.reached == 0 {
			a.located++
			a.seeLevels(&in)
		}
	}
	if !ok {
		// Not mergeable: it ends the group and passes as is.
		if err := a.close(); err != nil {
			return err
		}
		if in.HasLocation {
			a.account(0, weight(p))
		}
		a.stats.NetworksOut++
		return a.emit(p, value, record)
	}
	t := toTree(p)
	lo, hi := t.Addr(), lastAddr(t)
	w := weight(p)
	acc := 0.0
	if in.HasAccuracy {
		acc = float64(in.AccuracyRadiusKm)
	}
	if len(a.members) > 0 && a.fits(&in, lo, hi, p.Addr().Is4(), w) {
		a.join(&in, depth, lo, hi, w, acc)
		return nil
	}
	if err := a.close(); err != nil {
		return err
	}
	a.open(p, value, record, &in, depth, lo, hi, w, acc)
	return nil
}

// fits reports whether the network of in, [lo, hi], may join the
// open group: same key, same family, a small enough gap, no alias in the
// span, room in the buffer, and (with MaxMergeKm) every member within
// the distance of the new centroid.
func (a *aggregator) fits(in *schema.Inference, lo, hi netip.Addr, v4 bool, w float64) bool {
	if v4 != a.v4 || string(a.keyBuf) != string(a.key) || len(a.members) >= maxMembers {
		return false
	}
	gap, ok := gapSize(a.hi, lo)
	if !ok || v4 && gap > maxGap4 || !v4 && gap > maxGap6 {
		return false
	}
	if !v4 && crossesAlias(a.lo, hi) {
		return false
	}
	if d := a.policy.MaxMergeKm; d > 0 {
		c := a.centroid
		c.Add(in.Latitude, in.Longitude, w)
		lat, lon := c.LatLon()
		olat, olon := a.centroid.LatLon()
		moved := geo.Distance(lat, lon, olat, olon)
		if geo.Distance(lat, lon, in.Latitude, in.Longitude) > d {
			return false
		}
		if a.boundKm+moved > d {
			// The cheap bound fails: measure exactly.
			worst := 0.0
			for _, m := range a.members {
				worst = math.Max(worst, geo.Distance(lat, lon, m.lat, m.lon))
			}
			if worst > d {
				return false
			}
			a.boundKm = worst
		} else {
			a.boundKm += moved
		}
		a.boundKm = math.Max(a.boundKm, geo.Distance(lat, lon, in.Latitude, in.Longitude))
	}
	return true
}

// crossesAlias reports whether [lo, hi] (tree space) overlaps an IPv4
// alias of an IPv6 database or the IPv4 subtree.
func crossesAlias(lo, hi netip.Addr) bool {
	for _, p := range aliasPrefixes {
		if !hi.Less(p.Addr()) && !lastAddr(p).Less(lo) {
			return true
		}
	}
	return false
}

var aliasPrefixes = []netip.Prefix{
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("2002::/16"),
}

// gapSize returns the number of addresses strictly between hi and lo
// (tree space, hi < lo), false if it does not fit in 64 bits.
func gapSize(hi, lo netip.Addr) (uint64, bool) {
	h, l := hi.As16(), lo.As16()
	hh, hl := binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])
	lh, ll := binary.BigEndian.Uint64(l[:8]), binary.BigEndian.Uint64(l[8:])
	// d = lo - hi - 1
	dl, borrow := ll-hl, uint64(0)
	if ll < hl {
		borrow = 1
	}
	dh := lh - hh - borrow
	if dl == 0 {
		if dh == 0 {
			return 0, false // lo == hi: not disjoint
		}
		dh--
	}
	dl--
	return dl, dh == 0
}

func (a *aggregator) open(p netip.Prefix, value []byte, record uint64, in *schema.Inference, depth int, lo, hi netip.Addr, w, acc float64) {
	a.key = append(a.key[:0], a.keyBuf...)
	a.first.p, a.first.record = p, record
	a.firstBuf = append(a.firstBuf[:0], value...)
	a.first.value = a.firstBuf
	a.lo, a.hi, a.v4 = lo, hi, p.Addr().Is4()
	a.path = append(a.path[:0], in.Regions[:depth]...)
	// The levels of the record: the first member's, also those below the
	// path, so that Record maps the path's levels to GeoIP2 fields as it
	// did for the members (subdivisions are the levels between country
	// and city).
	a.levels = a.levels[:0]
	for _, r := range in.Regions {
		a.levels = append(a.levels, r.Level)
	}
	a.lang, a.source, a.model = in.NamesLang, in.Source, in.ModelVersion
	a.mixed.source, a.mixed.model = false, false
	a.centroid = geo.Centroid{}
	a.centroid.Add(in.Latitude, in.Longitude, w)
	a.members = append(a.members[:0], member{in.Latitude, in.Longitude, w, acc})
	a.boundKm = 0
	a.confSum = append(a.confSum[:0], make([]float64, depth)...)
	a.confW = append(a.confW[:0], make([]float64, depth)...)
	a.overall, a.overW = 0, 0
	a.addConf(in, depth, w)
}

func (a *aggregator) join(in *schema.Inference, depth int, lo, hi netip.Addr, w, acc float64) {
	if gap, _ := gapSize(a.hi, lo); gap > 0 {
		a.stats.GapAddresses += float64(gap)
	}
	a.hi = hi
	a.centroid.Add(in.Latitude, in.Longitude, w)
	a.members = append(a.members, member{in.Latitude, in.Longitude, w, acc})
	a.mixed.source = a.mixed.source || in.Source != a.source
	a.mixed.model = a.mixed.model || in.ModelVersion != a.model
	a.addConf(in, depth, w)
}

func (a *aggregator) addConf(in *schema.Inference, depth int, w float64) {
	for i := range depth {
		if r := in.Regions[i]; r.HasConfidence {
			a.confSum[i] += w * r.Confidence
			a.confW[i] += w
		}
	}
	if in.HasConfidence {
		a.overall += w * in.Confidence
		a.overW += w
	}
}

// close emits the open group, if any: a group of one network as it was,
// a larger one as the merged record over the fewest CIDRs of its span.
func (a *aggregator) close() error {
	if len(a.members) == 0 {
		return nil
	}
	defer func() { a.members = a.members[:0] }()
	if len(a.members) == 1 {
		a.account(0, a.members[0].w)
		a.stats.NetworksOut++
		return a.emit(a.first.p, a.first.value, a.first.record)
	}
	lat, lon := a.centroid.LatLon()
	radius := 0.0
	for _, m := range a.members {
		d := geo.Distance(lat, lon, m.lat, m.lon)
		a.account(d, m.w)
		radius = math.Max(radius, d+m.acc)
	}
	in := schema.Inference{Latitude: lat, Longitude: lon, HasLocation: true,
		AccuracyRadiusKm: uint16(min(math.Ceil(radius), math.MaxUint16)), HasAccuracy: true,
		NamesLang: a.lang}
	if !a.mixed.source {
		in.Source = a.source
	}
	if !a.mixed.model {
		in.ModelVersion = a.model
	}
	levels := a.levels
	if !slices.Contains(levels, "city") {
		levels = append(slices.Clip(levels), "city") // a path ending above city keeps its subdivisions
	}
	in.Regions = make([]schema.Region, len(a.path))
	for i, r := range a.path {
		r.Confidence, r.HasConfidence = 0, false
		if a.confW[i] > 0 {
			r.Confidence, r.HasConfidence = clamp01(a.confSum[i]/a.confW[i]), true
		}
		in.Regions[i] = r
	}
	if a.overW > 0 {
		in.Confidence, in.HasConfidence = clamp01(a.overall/a.overW), true
	}
	rec, err := in.Record(levels)
	if err != nil {
		return fmt.Errorf("aggregate: merged record of %s-%s: %w", fromTreeAddr(a.lo), fromTreeAddr(a.hi), err)
	}
	value, err := format.AppendValue(nil, rec)
	if err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	a.stats.Groups++
	a.stats.Members += len(a.members)
	return rangeCIDRs(a.lo, a.hi, func(p netip.Prefix) error {
		a.stats.NetworksOut++
		return a.emit(fromTree(p), value, 0)
	})
}

func clamp01(c float64) float64 { return math.Min(1, math.Max(0, c)) }

func fromTreeAddr(a netip.Addr) netip.Addr { return fromTree(netip.PrefixFrom(a, 128)).Addr() }

// account adds one member's error d (km) of weight w to the statistics.
func (a *aggregator) account(d, w float64) {
	a.stats.Addresses += w
	a.sumWD += w * d
	a.stats.MaxKm = math.Max(a.stats.MaxKm, d)
	a.hist[histBin(d)] += w
}

// The error histogram: bin 0 holds distances under 1 m, bin i >= 1 those
// in [1 m * 1.01^(i-1), 1 m * 1.01^i); the last bin everything beyond
// half the Earth's circumference.
const histBins = 1700

func histBin(d float64) int {
	if d < 0.001 {
		return 0
	}
	i := 1 + int(math.Log(d/0.001)/math.Log(1.01))
	return min(i, histBins-1)
}

// histUpper returns the upper edge of bin i in km.
func histUpper(i int) float64 {
	if i == 0 {
		return 0.001
	}
	return 0.001 * math.Pow(1.01, float64(i))
}

// finish closes the open group and computes the summary.
// seeLevels keeps the level names of in not kept yet, up to
// maxSeenLevels.
func (a *aggregator) seeLevels(in *schema.Inference) {
	for _, r := range in.Regions {
		if len(a.seenLevels) < maxSeenLevels && !slices.Contains(a.seenLevels, r.Level) {
			a.seenLevels = append(a.seenLevels, r.Level)
		}
	}
}

func (a *aggregator) finish() (AggregateStats, error) {
	if err := a.close(); err != nil {
		return a.stats, err
	}
	if a.reached == 0 && a.located > 0 {
		return a.stats, fmt.Errorf("aggregation %s: none of the %d networks with a location has a region at level %q (levels in the data: %s)",
			a.policy, a.located, a.policy.Level, strings.Join(a.seenLevels, ", "))
	}
	st := a.stats
	if st.Addresses > 0 {
		st.MeanKm = a.sumWD / st.Addresses
		half, cum := st.Addresses/2, 0.0
		for i, w := range a.hist {
			cum += w
			if cum >= half {
				st.MedianKm = math.Min(histUpper(i), st.MaxKm)
				if i == 0 {
					st.MedianKm = 0
				}
				break
			}
		}
	}
	return st, nil
}

// decodeInference reads an encoded record as an Inference; false when it
// is not a record InferenceFromRecord reads.
func decodeInference(value []byte) (schema.Inference, bool) {
	v, _, err := format.NewDecoder(value).Value(0)
	if err != nil {
		return schema.Inference{}, false
	}
	m, ok := v.(format.Map)
	if !ok {
		return schema.Inference{}, false
	}
	in, err := schema.InferenceFromRecord(m)
	if err != nil {
		return schema.Inference{}, false
	}
	if in.NamesLang == "" {
		in.NamesLang = schema.DefaultNamesLang
	}
	return in, true
}

// rangeCIDRs calls fn with the fewest CIDRs (tree space) that cover
// [from, to] exactly, in order.
func rangeCIDRs(from, to netip.Addr, fn func(netip.Prefix) error) error {
	if to.Less(from) {
		return errors.New("aggregate: empty range")
	}
	for {
		l := 0
		for ; l < 128; l++ {
			p := netip.PrefixFrom(from, l)
			if p.Masked().Addr() == from && !to.Less(lastAddr(p)) {
				break
			}
		}
		p := netip.PrefixFrom(from, l)
		if err := fn(p); err != nil {
			return err
		}
		end := lastAddr(p)
		if end == to {
			return nil
		}
		from = end.Next()
	}
}

// Summary returns the aggregation summary line of the compile output.
func (s AggregateStats) Summary(policy Aggregation) string {
	return fmt.Sprintf("aggregation %s: %d networks -> %d (%d merged networks of %d members, %s gap addresses answered); error added, address-weighted: mean %.3f km, median %.3f km, max %.3f km",
		policy, s.NetworksIn, s.NetworksOut, s.Groups, s.Members, strconv.FormatFloat(s.GapAddresses, 'g', -1, 64), s.MeanKm, s.MedianKm, s.MaxKm)
}
