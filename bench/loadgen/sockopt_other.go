//go:build !unix

package main

import "syscall"

// smallReceiveBuffer is a no-op here.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error { return nil }
