// Package workload makes the address sequences the reader benchmarks look
// up: uniform random public IPv4, uniform random IPv6 in 2000::/3,
// addresses drawn from a database's own networks, and a skewed hot set
// (Zipf over a few networks, as at a CDN edge).
//
// It owns the workloads (Kind, Make) and their shapes, and nothing that
// reads a database: the caller hands SampleNetworks the database's
// networks as an iterator, so the package imports only the standard
// library and no reader, ipatlas's or a peer's (bench/suite feeds every
// reader the same addresses).
//
// Invariants:
//
//  1. Deterministic: the same seed and inputs give the same addresses in
//     the same order, on every platform (math/rand/v2's PCG, seeded
//     explicitly, one stream per workload); another seed gives other
//     addresses (TestDeterministicBySeed).
//  2. UniformIPv4 addresses are public (IsPublic4: no private, shared,
//     loopback, 0/8 or 224/3 address) and spread over the space
//     (TestUniform4); UniformIPv6 addresses are in 2000::/3, each of its
//     eight /6s getting about an eighth (TestUniform6).
//  3. SampleNetworks is a uniform sample without repeats of the networks
//     it is given, masked, in one pass with memory for n
//     (TestSampleNetworksUniform); RandomIn gives an address inside its
//     network with every host bit varying (TestRandomIn), so DBNetworks
//     addresses always hit a sampled network (TestFromNetworks).
//  4. HotSet draws rank r of the first HotSetSize sampled networks with
//     weight 1/(r+1)^HotSetExponent (TestHotSetZipf).
//  5. Bad arguments (no networks, n < 1, an unknown Kind) are errors,
//     never a panic (TestMakeErrors); so is an invalid prefix given to
//     SampleNetworks.
//
// There is no shared state; everything is safe for concurrent use (a
// *rand.Rand passed to RandomIn belongs to its caller).
package workload
