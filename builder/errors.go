package builder

import (
	"errors"
	"strconv"

	"github.com/ipatlas/ipatlas/schema"
)

// RowError is a bad row (or a bad header, Line 1): the file, the line and
// the field it is about, and what is wrong. Err is often a
// *schema.FieldError or a *mmdbjson.JSONError.
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
	var fe *schema.FieldError
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

// BadRowsError rejects a file (without SkipBadRows) for its bad rows: the
// first MaxReportedErrors of them, in file order, each a *RowError, so
// that one run shows what to fix. errors.As finds the first.
type BadRowsError struct {
	// Errors are the bad rows, each a *RowError; never empty.
	Errors []error
	// More says that reading stopped at MaxReportedErrors bad rows:
	// there may be more.
	More bool
}

// Error returns the first bad row, then the others one a line, then how
// many there are.
func (e *BadRowsError) Error() string {
	var b []byte
	for i, err := range e.Errors {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, err.Error()...)
	}
	switch {
	case e.More:
		b = append(b, "\n(stopped at "+strconv.Itoa(len(e.Errors))+" bad rows; there may be more)"...)
	case len(e.Errors) > 1:
		b = append(b, "\n("+strconv.Itoa(len(e.Errors))+" bad rows)"...)
	}
	return string(b)
}

// Unwrap returns the bad rows.
func (e *BadRowsError) Unwrap() []error { return e.Errors }
