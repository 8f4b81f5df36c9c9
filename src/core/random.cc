// Per-thread xoshiro256++ with SplitMix64 seeding and Lemire's unbiased bounded draw (POL §4).
#include "core/random.h"

#include <atomic>
#include <random>

namespace router::core {
namespace {

// Process seed (0 = OS) and its generation, bumped by SetGlobalSeed so that threads reseed.
// Release/acquire: a thread that sees a new generation also sees its seed.
std::atomic<uint64_t> g_seed{0};
std::atomic<uint64_t> g_generation{1};
// Next thread index; relaxed, only uniqueness matters.
std::atomic<uint64_t> g_next_thread_index{0};

struct Generator {
  uint64_t s[4] = {0, 0, 0, 0};
  uint64_t generation = 0;  // 0 = never seeded
  uint64_t thread_index = ~uint64_t{0};
};

thread_local Generator t_gen;

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void SeedFrom(Generator& g, uint64_t mixed) {
  uint64_t sm = mixed;
  for (auto& word : g.s) word = SplitMix64(sm);
  // xoshiro's all-zero state is a fixed point; SplitMix64 output makes it practically
  // impossible, but guard anyway.
  if ((g.s[0] | g.s[1] | g.s[2] | g.s[3]) == 0) g.s[0] = 0x9E3779B97F4A7C15ull;
}

// The one place that may use std::random_device (POL §4: OS seeding).
uint64_t OsEntropy() {
  std::random_device rd;
  uint64_t hi = rd();
  uint64_t lo = rd();
  return (hi << 32) ^ lo;
}

void SeedThisThread(Generator& g, uint64_t generation) {
  if (g.thread_index == ~uint64_t{0}) {
    g.thread_index = g_next_thread_index.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t seed = g_seed.load(std::memory_order_acquire);
  uint64_t base = seed != 0 ? seed : OsEntropy();
  // Mix the thread index through SplitMix64 so that neighbouring indices diverge at once.
  uint64_t idx_state = g.thread_index;
  SeedFrom(g, base ^ SplitMix64(idx_state));
  g.generation = generation;
}

}  // namespace

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void SetGlobalSeed(uint64_t seed) {
  g_seed.store(seed, std::memory_order_relaxed);
  g_generation.fetch_add(1, std::memory_order_release);
}

void ReseedThisThreadForTest(uint64_t seed) {
  Generator& g = t_gen;
  SeedFrom(g, seed);
  g.generation = g_generation.load(std::memory_order_acquire);
}

namespace {

// One xoshiro256++ step of `g`.
inline uint64_t Step(Generator& g) {
  uint64_t* s = g.s;
  const uint64_t result = Rotl(s[0] + s[3], 23) + s[0];
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = Rotl(s[3], 45);
  return result;
}

// The identifier stream: its own generator per thread, seeded once from the OS, never from
// SetGlobalSeed / ReseedThisThreadForTest.
thread_local Generator t_unique_gen;

}  // namespace

uint64_t NextU64() {
  Generator& g = t_gen;
  uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (g.generation != generation) SeedThisThread(g, generation);
  return Step(g);
}

uint64_t NextUniqueU64() {
  Generator& g = t_unique_gen;
  if (g.generation == 0) {
    SeedFrom(g, OsEntropy());
    g.generation = 1;
  }
  return Step(g);
}

uint64_t UniformBelow(uint64_t bound) {
  if (bound == 0) return 0;
  unsigned __int128 m = static_cast<unsigned __int128>(NextU64()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    // Reject the (2^64 mod bound) lowest products so every result has equal probability.
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(NextU64()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

}  // namespace router::core
