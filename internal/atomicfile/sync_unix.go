//go:build unix

package atomicfile

import "syscall"

// errSyncUnsupported is what fsync of a folder returns on a file system
// that does not support it.
var errSyncUnsupported error = syscall.EINVAL
