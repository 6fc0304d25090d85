package main

import (
	"errors"
	"io"
)

// runExport is a placeholder until the command is written.
func runExport(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
