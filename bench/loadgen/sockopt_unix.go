//go:build unix

package main

import (
	"syscall"
)

// smallReceiveBuffer shrinks a slow reader's receive buffer to 4 KiB, as a
// client on a slow link would have, so that the server's answer cannot
// all sit in the client's kernel buffer.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}
