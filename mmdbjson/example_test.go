package mmdbjson_test

import (
	"fmt"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
)

// A record as `ipatlas export` writes it and `ipatlas build` reads it
// back: plain JSON where JSON's default gives the MMDB type back (a string,
// a double), a {"$type", "value"} wrapper where it does not (a uint16).
func Example() {
	rec := format.Map{
		"city":     format.String("Paris"),
		"latitude": format.Float64(48.85),
		"radius":   format.Uint16(5),
	}
	b := mmdbjson.AppendJSON(nil, rec)
	fmt.Println(string(b))

	back, err := mmdbjson.ParseJSON(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(format.Equal(back, rec))

	_, err = mmdbjson.ParseJSON([]byte(`{"radius":{"$type":"uint16","value":70000}}`))
	fmt.Println(err)
	// Output:
	// {"city":"Paris","latitude":48.85,"radius":{"$type":"uint16","value":5}}
	// true
	// json: offset 36: uint16 value 70000 out of range
}
