package schema

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

// appendRecordSlow is the reference: Record, then AppendValue.
func appendRecordSlow(in *Inference, levels []string) ([]byte, error) {
	rec, err := in.Record(levels)
	if err != nil {
		return nil, err
	}
	return format.AppendValue(nil, rec)
}

var appendRecordLevels = [][]string{
	nil,
	{"country", "state", "county", "city", "district"},
	{"country", "province"},
	{"region", "area"},
	{"continent_x", "country", "city"},
}

// randomAppendInference draws an Inference from r, valid or not.
func randomAppendInference(r *rand.Rand, levels []string) Inference {
	if levels == nil {
		levels = DefaultLevels
	}
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	var in Inference
	for i := range r.IntN(len(levels) + 1) {
		reg := Region{Level: levels[i], Code: pick("", "CN", "cn", "CN-SH", "US-CA", "SH", "de", "X"), Name: pick("", "Shanghai", "上海", "Москва", "Zürich", "a\xffb")}
		if r.IntN(3) > 0 {
			reg.Confidence, reg.HasConfidence = float64(r.IntN(102))/100, true
		}
		if r.IntN(3) == 0 {
			reg.GeonameID = uint32(r.IntN(1 << 30))
		}
		if r.IntN(20) == 0 {
			reg.Level = "bogus"
		}
		in.Regions = append(in.Regions, reg)
	}
	if r.IntN(3) > 0 {
		in.Latitude, in.Longitude, in.HasLocation = r.Float64()*180-90, r.Float64()*360-180, true
	}
	if r.IntN(2) == 0 {
		in.AccuracyRadiusKm, in.HasAccuracy = uint16(r.IntN(2000)), true
	}
	if r.IntN(2) == 0 {
		in.Confidence, in.HasConfidence = float64(r.IntN(101))/100, true
	}
	in.Source = pick("", "bertgeo", "ip2vec")
	in.ModelVersion = pick("", "2026-11")
	in.NamesLang = pick("", "en", "zh-CN", "ru")
	return in
}

// TestAppendRecordMatchesRecord holds AppendRecord to Record + AppendValue
// on seeded random inferences over several hierarchies: the same bytes,
// or the same error.
func TestAppendRecordMatchesRecord(t *testing.T) {
	r := rand.New(rand.NewPCG(testutil.Seed(t), 13))
	valid := 0
	for range 20000 {
		levels := appendRecordLevels[r.IntN(len(appendRecordLevels))]
		in := randomAppendInference(r, levels)
		want, werr := appendRecordSlow(&in, levels)
		got, gerr := in.AppendRecord([]byte("prefix"), levels)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("%+v levels %q: error %v, want %v", in, levels, gerr, werr)
		}
		if werr != nil {
			continue
		}
		valid++
		if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
			t.Fatalf("%+v levels %q:\ngot  % x\nwant % x", in, levels, got, want)
		}
	}
	if valid < 2000 {
		t.Fatalf("only %d valid inferences: the test does not test what it says", valid)
	}
}

// FuzzAppendRecord: AppendRecord gives Record + AppendValue's bytes or
// error for any inference.
func FuzzAppendRecord(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(7), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, lv uint8) {
		levels := appendRecordLevels[int(lv)%len(appendRecordLevels)]
		in := randomAppendInference(rand.New(rand.NewPCG(seed, 1)), levels)
		want, werr := appendRecordSlow(&in, levels)
		got, gerr := in.AppendRecord(nil, levels)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() || !bytes.Equal(got, want) {
			t.Fatalf("%+v: got % x, %v; want % x, %v", in, got, gerr, want, werr)
		}
	})
}
