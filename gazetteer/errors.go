package gazetteer

import (
	"fmt"
	"strconv"
)

// InputError is a problem with one field of one line of a source file
// (a GeoNames dump) or with one field at an offset of a gazetteer file.
type InputError struct {
	// File is the file's name as given.
	File string
	// Line is the line, from 1; 0 when Offset says where instead.
	Line int
	// Offset is the byte offset in a binary file, when Line is 0.
	Offset int64
	// Field names the column or field ("latitude", "admin1 code"), "" for
	// the line as a whole.
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns "file:line: field: problem" (or "file: offset N: ...").
func (e *InputError) Error() string {
	at := e.File + ":" + strconv.Itoa(e.Line)
	if e.Line == 0 {
		at = fmt.Sprintf("%s: offset %d", e.File, e.Offset)
	}
	if e.Field == "" {
		return at + ": " + e.Err.Error()
	}
	return at + ": " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *InputError) Unwrap() error { return e.Err }

func lineErr(file string, line int, field string, format string, args ...any) *InputError {
	return &InputError{File: file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}
