package main

import "errors"

// exitError is an error with an exit status of its own, for the commands
// whose statuses follow another tool's convention (diff: 1 when the
// files differ, 2 on trouble, as diff(1) has it).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode is the exit status err asks for, or def.
func exitCode(err error, def int) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return def
}
