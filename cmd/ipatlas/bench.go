package main

import (
	"errors"
	"io"
)

// runBench is a placeholder until the command is written.
func runBench(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
