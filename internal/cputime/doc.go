// Package cputime reads the CPU time the process has used, for
// benchmarks that report work per CPU-second: other load on the machine
// inflates wall time, not CPU time. It owns that one clock and nothing
// else; it imports only the standard library (syscall).
//
// Invariants:
//
//  1. Process is user + system time of the whole process (getrusage
//     RUSAGE_SELF), so it never goes back and grows with work done on any
//     goroutine (TestProcessGrows).
//  2. It never fails: where the system gives no CPU clock (not unix, or
//     getrusage fails) Process returns 0, so a difference of 0 means
//     "not measured" and the benchmarks report CPU time only when it is
//     positive.
//
// It holds no state and is safe for concurrent use.
package cputime
