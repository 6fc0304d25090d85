package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/ipatlas/ipatlas/reader"
)

// openError names the file a reader could not open and, where the bytes
// say, why: a compressed file, or something that is not a MaxMind DB.
func openError(path string, err error) error {
	var head [4]byte
	if fi, serr := os.Stat(path); serr != nil || !fi.Mode().IsRegular() {
		// Not opened here: a FIFO would block (reader.Open refuses it).
		return fmt.Errorf("%s: %w", path, err)
	}
	if f, ferr := os.Open(path); ferr == nil {
		n, _ := io.ReadFull(f, head[:])
		f.Close()
		switch {
		case n == 4 && bytes.Equal(head[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
			return fmt.Errorf("%s: zstd-compressed, not a MaxMind DB: decompress it first (zstd -d %s): %w", path, path, err)
		case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
			return fmt.Errorf("%s: gzip-compressed, not a MaxMind DB: decompress it first (gunzip %s): %w", path, path, err)
		}
	} else {
		return fmt.Errorf("%s: %w", path, ferr)
	}
	return fmt.Errorf("%s: not a valid MaxMind DB file: %w", path, err)
}

// resultNetwork is the network of a lookup result as printed: for an
// IPv4 address that an IPv6 database answers at a depth above its IPv4
// subtree (an empty database answers ::/1), the whole of IPv4, where
// res.Prefix gives the IPv6 network.
func resultNetwork(ip string, res reader.Result) string {
	p := res.Prefix()
	if a, err := netip.ParseAddr(ip); err == nil && a.Is4() && p.Addr().Is6() && !p.Addr().Is4In6() && p.Bits() <= 96 {
		return "0.0.0.0/0"
	}
	return p.String()
}

// maxStdinLine is the longest query line lookup reads from standard input.
const maxStdinLine = 1 << 16

// stdinError is an error about standard input's bytes, already naming it.
type stdinError struct{ error }

// stdinLines reads queries from standard input one line at a time, with a
// bound on a line's length (a longer line is a query error naming the
// line, and the rest of it is skipped), where bufio.Scanner stops with
// "token too long".
type stdinLines struct {
	r      *bufio.Reader
	n      int  // lines read
	broken bool // a read error: stop
}

func newStdinLines(r io.Reader) *stdinLines {
	return &stdinLines{r: bufio.NewReaderSize(r, maxStdinLine)}
}

func (l *stdinLines) next() (string, error) {
	b, err := l.r.ReadSlice('\n')
	if len(b) == 0 && err == io.EOF {
		return "", io.EOF
	}
	l.n++
	if errors.Is(err, bufio.ErrBufferFull) {
		skipped := int64(len(b))
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = l.r.ReadSlice('\n')
			skipped += int64(len(b))
		}
		if err != nil && err != io.EOF {
			l.broken = true
		}
		return "", stdinError{fmt.Errorf("standard input, line %d: longer than %d bytes (%d bytes): not an address", l.n, maxStdinLine, skipped)}
	}
	if err != nil && err != io.EOF {
		l.broken = true
		return "", stdinError{fmt.Errorf("standard input, line %d: %w", l.n, err)}
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}
