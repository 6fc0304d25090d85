package main

import (
	"errors"
	"io"
)

// runDiff is a placeholder until the command is written.
func runDiff(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
