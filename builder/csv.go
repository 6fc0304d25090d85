package builder

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
)

// csvReader reads CSV records exactly as encoding/csv's Reader does with
// its defaults (comma ',', no comment character, LazyQuotes and
// TrimLeadingSpace off, FieldsPerRecord 0: set by the first record),
// which FuzzCSVReaderMatchesStd holds it to, but faster for the common
// record: one line without a quote is split in place, without copying.
// Records longer than maxLine bytes are an error, so that an unterminated
// quote cannot make it hold the whole file.
type csvReader struct {
	r *bufio.Reader
	// numLine is the number of lines read so far.
	numLine         int
	fieldsPerRecord int
	rawBuffer       []byte

	// The record read last: its fields are buf[bounds[2i]:bounds[2i+1]].
	// When plain is set, buf is the record's only line, without its line
	// end, in the bufio.Reader's buffer (valid until the next read), and
	// has no quote; otherwise buf holds the unquoted fields back to back.
	buf    []byte
	bounds []int
	plain  bool
	// startLine is the line the record starts on.
	startLine int
	// recordBuffer holds the fields of a record with quotes.
	recordBuffer []byte
}

// csvSyntaxError is a record that is not valid CSV (encoding/csv's
// ErrBareQuote, ErrQuote or ErrFieldCount); reading can go on after it.
type csvSyntaxError struct {
	startLine int
	err       error
}

func (e *csvSyntaxError) Error() string { return fmt.Sprintf("line %d: %v", e.startLine, e.err) }

// numFields returns the number of fields of the last record.
func (r *csvReader) numFields() int { return len(r.bounds) / 2 }

// field returns field i of the last record.
func (r *csvReader) field(i int) []byte { return r.buf[r.bounds[2*i]:r.bounds[2*i+1]] }

// readLine is encoding/csv's readLine, with the length limit.
func (r *csvReader) readLine(recordBytes *int) ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.rawBuffer = append(r.rawBuffer[:0], line...)
		for err == bufio.ErrBufferFull {
			if *recordBytes+len(r.rawBuffer) > maxLine {
				return nil, fmt.Errorf("CSV record longer than %d bytes (an unterminated quote?)", maxLine)
			}
			line, err = r.r.ReadSlice('\n')
			r.rawBuffer = append(r.rawBuffer, line...)
		}
		line = r.rawBuffer
	}
	readSize := len(line)
	*recordBytes += readSize
	if *recordBytes > maxLine {
		return nil, fmt.Errorf("CSV record longer than %d bytes (an unterminated quote?)", maxLine)
	}
	if readSize > 0 && err == io.EOF {
		err = nil
		// As encoding/csv: drop a trailing \r before EOF.
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	r.numLine++
	// Normalize \r\n to \n.
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

// lengthNL reports the number of bytes for the trailing \n.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// read reads the next record. It returns io.EOF after the last one, a
// *csvSyntaxError for a bad record (the fields then are what was read,
// as encoding/csv returns them), and any other error when the input
// cannot be read further.
func (r *csvReader) read() error {
	var line []byte
	var errRead error
	recordBytes := 0
	for errRead == nil {
		line, errRead = r.readLine(&recordBytes)
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			recordBytes = 0 // blank lines are no part of the record after them
			continue        // skip empty lines
		}
		break
	}
	if errRead == io.EOF {
		return errRead
	}
	r.startLine = r.numLine
	r.bounds = r.bounds[:0]
	var err error
	if errRead == nil && bytes.IndexByte(line, '"') < 0 {
		// The fast path: no quotes, so no escapes and no bare quotes.
		r.plain = true
		line = line[:len(line)-lengthNL(line)]
		r.buf = line
		at := 0
		for {
			i := bytes.IndexByte(line[at:], ',')
			if i < 0 {
				r.bounds = append(r.bounds, at, len(line))
				break
			}
			r.bounds = append(r.bounds, at, at+i)
			at += i + 1
		}
	} else {
		r.plain = false
		err = r.parseQuoted(line, errRead, &recordBytes)
		if err == nil {
			err = errRead
		}
	}
	if r.fieldsPerRecord > 0 {
		if r.numFields() != r.fieldsPerRecord && err == nil {
			err = &csvSyntaxError{startLine: r.startLine, err: csv.ErrFieldCount}
		}
	} else {
		r.fieldsPerRecord = r.numFields()
	}
	return err
}

// parseQuoted is encoding/csv's readRecord field loop (without the
// options it does not use), for a record that may have quotes.
func (r *csvReader) parseQuoted(line []byte, errRead error, recordBytes *int) error {
	r.recordBuffer = r.recordBuffer[:0]
	start := 0
	endField := func() {
		r.bounds = append(r.bounds, start, len(r.recordBuffer))
		start = len(r.recordBuffer)
	}
	defer func() { r.buf = r.recordBuffer }()
	for {
		if len(line) == 0 || line[0] != '"' {
			// A field without quotes.
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				return &csvSyntaxError{startLine: r.startLine, err: csv.ErrBareQuote}
			}
			r.recordBuffer = append(r.recordBuffer, field...)
			endField()
			if i >= 0 {
				line = line[i+1:]
				continue
			}
			return nil
		}
		// A quoted field.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				r.recordBuffer = append(r.recordBuffer, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					// "" is a quote.
					r.recordBuffer = append(r.recordBuffer, '"')
					line = line[1:]
					continue
				case len(line) > 0 && line[0] == ',':
					// ", ends the field.
					line = line[1:]
					endField()
				case lengthNL(line) == len(line):
					// " at the end of the line ends the record.
					endField()
					return nil
				default:
					return &csvSyntaxError{startLine: r.startLine, err: csv.ErrQuote}
				}
			case len(line) > 0:
				// The field goes on on the next line.
				r.recordBuffer = append(r.recordBuffer, line...)
				if errRead != nil {
					return errRead
				}
				var err error
				line, err = r.readLine(recordBytes)
				if err == io.EOF {
					err = nil
				} else if err != nil && line == nil {
					return err
				}
				errRead = err
				continue
			default:
				// The input ended inside the quotes.
				if errRead == nil {
					return &csvSyntaxError{startLine: r.startLine, err: csv.ErrQuote}
				}
				endField()
				return errRead
			}
			break
		}
	}
}
