package schema_test

import (
	"fmt"

	"github.com/ipatlas/ipatlas/mmdbjson"
	"github.com/ipatlas/ipatlas/schema"
)

// One inference row, checked and turned into the record ipatlas stores
// for it: GeoIP2's fields (percent confidences) for existing readers and
// the ipatlas map, which keeps every level; then read back.
func Example() {
	in := schema.Inference{
		Regions: []schema.Region{
			{Level: "country", Code: "FR", Name: "France", Confidence: 0.9, HasConfidence: true},
			{Level: "city", Name: "Paris", Confidence: 0.6, HasConfidence: true},
		},
		Latitude: 48.85, Longitude: 2.35, HasLocation: true,
	}
	levels := []string{"country", "city"}
	// With the default levels a city needs a province: a FieldError.
	fmt.Println(in.Validate(schema.DefaultLevels))
	if err := in.Validate(levels); err != nil {
		fmt.Println(err)
		return
	}
	rec, err := in.Record(levels)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(mmdbjson.AppendJSON(nil, rec)))
	back, err := schema.InferenceFromRecord(rec)
	fmt.Println(back.Regions[1].Name, back.Confidence, err)
	// Output:
	// city = "Paris": level city without its parent level province
	// {"city":{"confidence":{"$type":"uint16","value":60},"names":{"en":"Paris"}},"continent":{"code":"EU","names":{"en":"Europe"}},"country":{"confidence":{"$type":"uint16","value":90},"iso_code":"FR","names":{"en":"France"}},"ipatlas":{"confidence":0.6,"regions":[{"code":"FR","confidence":0.9,"level":"country","name":"France"},{"confidence":0.6,"level":"city","name":"Paris"}]},"location":{"latitude":48.85,"longitude":2.35}}
	// Paris 0.6 <nil>
}
