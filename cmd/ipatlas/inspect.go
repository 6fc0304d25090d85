package main

import (
	"errors"
	"io"
)

// runInspect is a placeholder until the command is written.
func runInspect(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
