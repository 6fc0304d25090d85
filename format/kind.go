package format

import "fmt"

// Kind is the type number of a value in the MMDB data section, as the
// MaxMind DB spec numbers them. Types 1-7 fit in the control byte; types 8
// and up are "extended" and take a second byte.
type Kind uint8

// The data-section types of MaxMind DB format 2.0.
const (
	KindExtended  Kind = 0 // marks an extended type in a control byte; never a value's kind
	KindPointer   Kind = 1
	KindString    Kind = 2
	KindFloat64   Kind = 3 // the spec's "double"
	KindBytes     Kind = 4
	KindUint16    Kind = 5
	KindUint32    Kind = 6
	KindMap       Kind = 7
	KindInt32     Kind = 8
	KindUint64    Kind = 9
	KindUint128   Kind = 10
	KindSlice     Kind = 11 // the spec's "array"
	KindContainer Kind = 12 // reserved by the spec, never valid in data
	KindEndMarker Kind = 13 // reserved by the spec, never valid in data
	KindBool      Kind = 14
	KindFloat32   Kind = 15 // the spec's "float"
)

var kindNames = [...]string{
	KindExtended:  "extended",
	KindPointer:   "pointer",
	KindString:    "utf8_string",
	KindFloat64:   "double",
	KindBytes:     "bytes",
	KindUint16:    "uint16",
	KindUint32:    "uint32",
	KindMap:       "map",
	KindInt32:     "int32",
	KindUint64:    "uint64",
	KindUint128:   "uint128",
	KindSlice:     "array",
	KindContainer: "container",
	KindEndMarker: "end_marker",
	KindBool:      "boolean",
	KindFloat32:   "float",
}

// String returns the spec's name of the kind ("utf8_string", "double", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}
