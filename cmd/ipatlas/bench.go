package main

// benchMoved is what `ipatlas bench` says now that the benchmark suite is
// a command of its own (cmd/ipatlas-bench), which keeps its peer readers,
// mmdbwriter and plotting out of this binary.
const benchMoved = "ipatlas: the benchmark suite is its own command now: go run ./cmd/ipatlas-bench readers|build|all|report (from the repository's root)"
