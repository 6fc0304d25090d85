//go:build !unix

package atomicfile

import "errors"

// errSyncUnsupported: outside unix, any failure of a folder's fsync is
// taken as "not supported".
var errSyncUnsupported = errors.ErrUnsupported
