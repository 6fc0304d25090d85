package reader

import (
	"fmt"
	"reflect"
)

// InvalidDatabaseError reports a malformed database: bad metadata, a
// corrupt search tree or a corrupt data section. It has the same shape and
// messages as maxminddb-golang v2's InvalidDatabaseError, so code that
// branches on it with errors.As works unchanged.
type InvalidDatabaseError struct {
	message string
}

func newInvalidDatabaseError(format string, args ...any) InvalidDatabaseError {
	return InvalidDatabaseError{fmt.Sprintf(format, args...)}
}

// errOffset is the error for a read past the end of a section.
var errOffset = InvalidDatabaseError{"unexpected end of database"}

// Error returns the message.
func (e InvalidDatabaseError) Error() string { return e.message }

// UnmarshalTypeError reports a database value that cannot be stored in the
// Go type the caller asked for, as maxminddb-golang v2's does.
type UnmarshalTypeError struct {
	// Type is the Go type that could not hold the value.
	Type reflect.Type
	// Value describes the database value.
	Value string
}

func newUnmarshalTypeError(value any, t reflect.Type) UnmarshalTypeError {
	return UnmarshalTypeError{Type: t, Value: fmt.Sprintf("%v (%T)", value, value)}
}

func newUnmarshalTypeStrError(value string, t reflect.Type) UnmarshalTypeError {
	return UnmarshalTypeError{Type: t, Value: value}
}

// Error returns the message.
func (e UnmarshalTypeError) Error() string {
	return fmt.Sprintf("maxminddb: cannot unmarshal %s into type %s", e.Value, e.Type)
}

// contextError wraps a decoding error with the data-section offset and the
// path of map keys and array indexes at which it happened. It unwraps to
// the underlying error, so errors.As finds InvalidDatabaseError and
// UnmarshalTypeError through it.
type contextError struct {
	err    error
	path   []string // innermost last
	offset uint
}

func (e *contextError) Error() string {
	if len(e.path) == 0 {
		return fmt.Sprintf("at offset %d: %v", e.offset, e.err)
	}
	p := ""
	for _, s := range e.path {
		p += "/" + s
	}
	return fmt.Sprintf("at offset %d, path %s: %v", e.offset, p, e.err)
}

func (e *contextError) Unwrap() error { return e.err }

// withKey prepends a map key or array index to the path of err, turning
// err into a *contextError if it is not one yet.
func withKey(err error, key string) error {
	ce, ok := err.(*contextError)
	if !ok {
		ce = &contextError{err: err}
	}
	ce.path = append([]string{key}, ce.path...)
	return ce
}

// withOffset records the offset of the value whose decoding failed.
func withOffset(err error, offset uint) error {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*contextError); ok {
		ce.offset = offset
		return ce
	}
	return &contextError{err: err, offset: offset}
}
