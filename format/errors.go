package format

import "fmt"

// DataError reports a malformed data section, metadata or search tree: what
// is wrong and at which byte offset of the section it was found.
type DataError struct {
	// Section is "data", "metadata" or "tree".
	Section string
	// Offset is the byte offset within the section.
	Offset uint
	// Msg says what is wrong.
	Msg string
}

func (e *DataError) Error() string {
	return fmt.Sprintf("mmdb: %s section offset %d: %s", e.Section, e.Offset, e.Msg)
}

func dataErr(section string, off uint, format string, args ...any) error {
	return &DataError{Section: section, Offset: off, Msg: fmt.Sprintf(format, args...)}
}
