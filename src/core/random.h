#pragma once
// Random: the per-thread PRNG behind the weighted draw and backoff jitter (POL §4, §1.3), and
// the OS-seeded identifier stream (NextUniqueU64).
//
// Each thread owns a xoshiro256++ generator (thread_local: never shared, never locked). It is
// seeded lazily on first use from the process seed (SetGlobalSeed) mixed with the thread's index
// through SplitMix64; seed 0 (the default) means "OS seeding" from std::random_device.
// A configured seed makes every thread's sequence deterministic given its thread index, and a
// later SetGlobalSeed reseeds every thread on its next draw. ReseedThisThreadForTest seeds only
// the calling thread, independent of its index. Selection never hashes request contents.
//
// Thread-safety: every function may be called from any thread; a thread only touches its own
// generator, plus relaxed/acquire atomics for the process seed.

#include <cstdint>

namespace router::core {

// Sets the process seed; 0 restores OS seeding. Every thread (including ones that already drew)
// reseeds from it on its next draw.
void SetGlobalSeed(uint64_t seed);

// Reseeds only the calling thread so that its sequence depends on `seed` alone (not on the thread
// index). Stays in effect until the next SetGlobalSeed. Test and benchmark hook.
void ReseedThisThreadForTest(uint64_t seed);

// Next 64 random bits of the calling thread's generator.
uint64_t NextU64();

// Next 64 random bits for identifiers (decision_id, assignment_id, generated trace ids): a
// separate per-thread generator seeded from the OS only, so that replicas or restarts sharing a
// configured `decide.rng_seed` never draw the same ids (an assignment_id is the JetStream
// Nats-Msg-Id: a repeat inside the duplicate window would be dropped as a duplicate).
uint64_t NextUniqueU64();

// A uniform integer in [0, bound) by Lemire's multiply-shift with rejection (unbiased, integer
// only). REQUIRES: bound > 0 (returns 0 for bound 0).
uint64_t UniformBelow(uint64_t bound);

// SplitMix64 step, exposed for tests and for seeding.
uint64_t SplitMix64(uint64_t& state);

}  // namespace router::core
