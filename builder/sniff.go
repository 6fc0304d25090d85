package builder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// sniffLimit is how much of a .jsonl file's start sniffRaw looks at.
const sniffLimit = 1 << 16

// sniffRaw reports whether a JSONL input whose format was picked by its
// name (.jsonl, .ndjson) holds raw records instead of inference rows: its
// first line is the metadata line of 'ipatlas export' or an object with a
// "record" key and no "regions". Inference rows never have a "record"
// key, so a file of either shape is read as what it is.
func sniffRaw(br *bufio.Reader) bool {
	b, _ := br.Peek(sniffLimit)
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) != nil {
			return false // the parser names the problem
		}
		_, rec := m["record"]
		_, regions := m["regions"]
		_, meta := m["metadata"]
		return rec && !regions || meta && len(m) == 1
	}
	return false
}

// RawMetadata is the metadata line that 'ipatlas export' writes first in
// a raw-record JSONL file, so that a rebuild keeps the original's
// database type, description and languages.
type RawMetadata struct {
	DatabaseType string            `json:"database_type,omitempty"`
	Description  map[string]string `json:"description,omitempty"`
	Languages    []string          `json:"languages,omitempty"`
}

// rawMetadataLine is the shape of the line: {"metadata":{...}}.
type rawMetadataLine struct {
	Metadata *RawMetadata `json:"metadata"`
}

// AppendRawMetadataLine appends md as the first line of a raw-record
// JSONL file, ending in "\n".
func AppendRawMetadataLine(dst []byte, md RawMetadata) []byte {
	b, _ := json.Marshal(rawMetadataLine{&md}) // plain strings and maps: cannot fail
	return append(append(dst, b...), '\n')
}

// isRawMetadataLine reports whether b is the metadata line.
func isRawMetadataLine(b []byte) bool {
	b = bytes.TrimSpace(b)
	if !bytes.HasPrefix(b, []byte(`{"metadata":`)) {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && len(m) == 1
}

// ReadRawMetadata returns the metadata line of the raw-record file at
// path (options as for IngestFile pick the format and compression), and
// false when the file is not raw-record JSONL or has no metadata line.
func ReadRawMetadata(path string, opts Options) (RawMetadata, bool, error) {
	r, err := resolve(path, opts)
	if err != nil {
		return RawMetadata{}, false, err
	}
	if r.format != "raw" && (r.format != "jsonl" || opts.Format != "") {
		return RawMetadata{}, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return RawMetadata{}, false, err
	}
	defer f.Close()
	br, closeInput, err := decompress(path, r.compression, f)
	if err != nil {
		return RawMetadata{}, false, err
	}
	defer closeInput()
	if r.format == "jsonl" && !sniffRaw(br) {
		return RawMetadata{}, false, nil
	}
	line, err := br.ReadSlice('\n')
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return RawMetadata{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if !isRawMetadataLine(line) {
		return RawMetadata{}, false, nil
	}
	var ml rawMetadataLine
	if err := json.Unmarshal(line, &ml); err != nil || ml.Metadata == nil {
		return RawMetadata{}, false, fmt.Errorf("%s:1: metadata: bad metadata line: %v", path, err)
	}
	return *ml.Metadata, true, nil
}
