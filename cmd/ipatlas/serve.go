package main

import (
	"errors"
	"io"
)

// runServe is a placeholder until the command is written.
func runServe(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
