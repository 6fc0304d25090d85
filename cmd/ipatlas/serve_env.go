package main

import (
	"flag"
	"os"
	"strings"
)

// flagsFromEnv sets every flag of fs whose environment variable is set:
// prefix + the flag's name in upper case with - as _ (IPATLAS_MAX_IN_FLIGHT
// for --max-in-flight). Call it before parsing the command line, which then
// overrides what the environment set. A value the flag refuses is a usage
// error naming the variable.
func flagsFromEnv(fs *flag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		name := envName(prefix, f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("environment variable %s=%q: %v", name, v, serr)
		}
	})
	return err
}

// envName is the variable that sets flag name.
func envName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}
