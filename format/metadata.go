package format

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// MetadataMarker starts the metadata section; the last occurrence in the
// file counts.
var MetadataMarker = []byte("\xAB\xCD\xEFMaxMind.com")

// MaxMetadataSize is the largest metadata section the spec allows,
// marker included.
const MaxMetadataSize = 128 * 1024

// Metadata is the metadata map of a database, with the types the spec
// gives each key and the fields and tags of maxminddb-golang v2's
// Metadata (reader.Metadata is this type).
type Metadata struct {
	// Description maps a language code to a description of the database.
	Description map[string]string `maxminddb:"description"`
	// DatabaseType names the structure of the records, e.g. "GeoIP2-City".
	DatabaseType string `maxminddb:"database_type"`
	// Languages lists the locales the records may have names in.
	Languages []string `maxminddb:"languages"`
	// BinaryFormatMajorVersion is the format's major version (2).
	BinaryFormatMajorVersion uint `maxminddb:"binary_format_major_version"`
	// BinaryFormatMinorVersion is the format's minor version (0).
	BinaryFormatMinorVersion uint `maxminddb:"binary_format_minor_version"`
	// BuildEpoch is when the database was built, in seconds since the Unix epoch.
	BuildEpoch uint `maxminddb:"build_epoch"`
	// IPVersion is 4 for an IPv4-only tree, 6 for a tree of 128-bit keys.
	IPVersion uint `maxminddb:"ip_version"`
	// NodeCount is the number of nodes in the search tree.
	NodeCount uint `maxminddb:"node_count"`
	// RecordSize is the size of a record in bits: 24, 28 or 32.
	RecordSize uint `maxminddb:"record_size"`
}

// maxUnixSeconds is the largest Unix time, in seconds, that a time.Time
// holds: time keeps seconds since year 1 in an int64.
const maxUnixSeconds = math.MaxInt64 - 62135596800

// BuildTime returns BuildEpoch as a time in the local zone, as
// maxminddb-golang v2 does. An epoch beyond what a time.Time can hold
// (libmaxminddb's tests use UINT64_MAX) gives the latest time a time.Time
// holds, never a time that wrapped into the past (v2's does wrap).
func (m Metadata) BuildTime() time.Time {
	if uint64(m.BuildEpoch) > maxUnixSeconds {
		return time.Unix(maxUnixSeconds, 0)
	}
	return time.Unix(int64(m.BuildEpoch), 0)
}

// SearchTreeSize returns the size in bytes of the search tree m describes.
// The product wraps for node counts so large that no file holds them;
// Parse rejects those before it calls SearchTreeSize.
func (m Metadata) SearchTreeSize() uint64 {
	return uint64(m.NodeCount) * uint64(NodeBytes(m.RecordSize))
}

// FindMetadata returns the offset of the metadata section in file (just
// past the last marker in the last MaxMetadataSize bytes).
func FindMetadata(file []byte) (int, error) {
	tail := file
	if len(tail) > MaxMetadataSize {
		tail = tail[len(tail)-MaxMetadataSize:]
	}
	i := bytes.LastIndex(tail, MetadataMarker)
	if i < 0 {
		return 0, fmt.Errorf("mmdb: metadata marker not found: not a MaxMind DB file")
	}
	return len(file) - len(tail) + i + len(MetadataMarker), nil
}

// DecodeMetadata decodes the metadata section buf (the bytes after the
// marker). It checks each key's type and the values the search tree
// depends on: a record size of 24, 28 or 32, an IP version of 4 or 6,
// binary format major version 2.
func DecodeMetadata(buf []byte) (Metadata, error) {
	var m Metadata
	d := Decoder{buf: buf, section: "metadata"}
	v, _, err := d.Value(0)
	if err != nil {
		return m, err
	}
	top, ok := v.(Map)
	if !ok {
		return m, dataErr("metadata", 0, "metadata is a %s, not a map", v.Kind())
	}
	uintKey := func(key string, dst *uint, required bool) error {
		v, ok := top[key]
		if !ok {
			if required {
				return dataErr("metadata", 0, "required key %q missing", key)
			}
			return nil
		}
		switch v := v.(type) {
		case Uint16:
			*dst = uint(v)
		case Uint32:
			*dst = uint(v)
		case Uint64:
			*dst = uint(v)
		default:
			return dataErr("metadata", 0, "key %q is a %s, want an unsigned integer", key, v.Kind())
		}
		return nil
	}
	for _, k := range []struct {
		name     string
		dst      *uint
		required bool
	}{
		{"node_count", &m.NodeCount, true},
		{"record_size", &m.RecordSize, true},
		{"ip_version", &m.IPVersion, true},
		{"binary_format_major_version", &m.BinaryFormatMajorVersion, true},
		{"binary_format_minor_version", &m.BinaryFormatMinorVersion, false},
		{"build_epoch", &m.BuildEpoch, false},
	} {
		if err := uintKey(k.name, k.dst, k.required); err != nil {
			return m, err
		}
	}
	if v, ok := top["database_type"]; ok {
		s, ok := v.(String)
		if !ok {
			return m, dataErr("metadata", 0, "database_type is a %s, want utf8_string", v.Kind())
		}
		m.DatabaseType = string(s)
	}
	if v, ok := top["languages"]; ok {
		s, ok := v.(Slice)
		if !ok {
			return m, dataErr("metadata", 0, "languages is a %s, want array", v.Kind())
		}
		for _, e := range s {
			l, ok := e.(String)
			if !ok {
				return m, dataErr("metadata", 0, "languages holds a %s, want utf8_string", e.Kind())
			}
			m.Languages = append(m.Languages, string(l))
		}
	}
	if v, ok := top["description"]; ok {
		dm, ok := v.(Map)
		if !ok {
			return m, dataErr("metadata", 0, "description is a %s, want map", v.Kind())
		}
		m.Description = make(map[string]string, len(dm))
		for k, e := range dm {
			s, ok := e.(String)
			if !ok {
				return m, dataErr("metadata", 0, "description %q is a %s, want utf8_string", k, e.Kind())
			}
			m.Description[k] = string(s)
		}
	}
	switch {
	case m.BinaryFormatMajorVersion != 2:
		return m, dataErr("metadata", 0, "binary_format_major_version %d, want 2", m.BinaryFormatMajorVersion)
	case m.RecordSize != 24 && m.RecordSize != 28 && m.RecordSize != 32:
		return m, dataErr("metadata", 0, "record_size %d, want 24, 28 or 32", m.RecordSize)
	case m.IPVersion != 4 && m.IPVersion != 6:
		return m, dataErr("metadata", 0, "ip_version %d, want 4 or 6", m.IPVersion)
	}
	return m, nil
}

// Value returns m as the metadata map, each key with the type
// libmaxminddb checks: node_count uint32; record_size, ip_version and the
// format versions uint16; build_epoch uint64. Languages and description
// are always written, empty if unset: libmaxminddb requires both keys.
func (m Metadata) Value() Map {
	v := Map{
		"binary_format_major_version": Uint16(m.BinaryFormatMajorVersion),
		"binary_format_minor_version": Uint16(m.BinaryFormatMinorVersion),
		"build_epoch":                 Uint64(m.BuildEpoch),
		"database_type":               String(m.DatabaseType),
		"ip_version":                  Uint16(m.IPVersion),
		"node_count":                  Uint32(m.NodeCount),
		"record_size":                 Uint16(m.RecordSize),
	}
	l := make(Slice, len(m.Languages))
	for i, s := range m.Languages {
		l[i] = String(s)
	}
	v["languages"] = l
	d := make(Map, len(m.Description))
	for k, s := range m.Description {
		d[k] = String(s)
	}
	v["description"] = d
	return v
}
