//go:build !unix

package reader

import "errors"

// mapAnon is not available here: the indexes live on the Go heap.
func mapAnon(size int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapAnon(b []byte) error { return nil }
