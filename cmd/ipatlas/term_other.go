//go:build !unix

package main

import "os"

// isTerminal reports false where the terminal ioctl is not known:
// progress stays off.
func isTerminal(*os.File) bool { return false }
