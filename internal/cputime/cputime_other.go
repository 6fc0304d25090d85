//go:build !unix

package cputime

import "time"

// Process returns 0: no portable CPU clock here.
func Process() time.Duration { return 0 }
