package main

import (
	"errors"
	"io"
)

// runVerify is a placeholder until the command is written.
func runVerify(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
