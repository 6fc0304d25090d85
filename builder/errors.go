package builder

import (
	"errors"
	"strconv"

	"github.com/ipatlas/ipatlas/format"
)

// RowError is a bad row (or a bad header, Line 1): the file, the line and
// the field it is about, and what is wrong. Err is often a
// *format.FieldError or a *format.JSONError.
type RowError struct {
	// File is the path of the input file as given.
	File string
	// Line is the 1-based line number of the row (for a CSV record that
	// spans lines, the line it starts on); 0 when the problem is not on a
	// line (the file cannot be read).
	Line int
	// Field names the column or key ("network", "latitude",
	// "district_confidence", "record", ...); empty for the row as a whole.
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns "file:line: field: message", leaving out empty parts.
func (e *RowError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.message()
}

// message is Err's text without a repeat of the field name.
func (e *RowError) message() string {
	var fe *format.FieldError
	if errors.As(e.Err, &fe) && fe.Field == e.Field {
		if fe.Value != "" {
			return fe.Msg + " (got " + fe.Value + ")"
		}
		return fe.Msg
	}
	if e.Err == nil {
		return "bad row"
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *RowError) Unwrap() error { return e.Err }

// rowErr is a shorthand for a RowError about the row being read.
func rowErr(file string, line int, field string, err error) *RowError {
	return &RowError{File: file, Line: line, Field: field, Err: err}
}
