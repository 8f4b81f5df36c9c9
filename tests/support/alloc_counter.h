#pragma once
// Counting global allocator for allocation tests and benchmarks (reliability-and-performance.md
// §2.1 "Allocation counting"; OBS O1). Header-only.
//
// Use: include this header anywhere, and expand ROUTER_DEFINE_COUNTING_ALLOCATOR() exactly once
// per binary, at global scope, in one .cc file (the standard forbids inline replacements of the
// global operator new, and two expansions in one binary fail to link). The expansion replaces
// every global operator new/delete form with malloc-backed versions that count the calling
// thread's allocations. Binaries that never expand the macro keep the normal allocator; the
// counter functions then stay at 0.
//
// Thread-safety: counters are thread_local; each thread sees only its own allocations, so
// background threads of the code under test (or of gtest/benchmark) never disturb a count.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace router::testing {

namespace alloc_counter_internal {
inline thread_local int64_t t_allocations = 0;

inline void* CountedAlloc(std::size_t n) {
  ++t_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}

inline void* CountedAlignedAlloc(std::size_t n, std::align_val_t align) {
  ++t_allocations;
  const std::size_t a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) std::abort();
  return p;
}
}  // namespace alloc_counter_internal

// Heap allocations made by the calling thread since it started (0 without the macro).
inline int64_t ThreadAllocations() { return alloc_counter_internal::t_allocations; }

// Counts the calling thread's allocations from construction on.
class ScopedAllocationCounter {
 public:
  ScopedAllocationCounter() : start_(ThreadAllocations()) {}
  int64_t count() const { return ThreadAllocations() - start_; }

 private:
  int64_t start_;
};

}  // namespace router::testing

// Replaces the global allocation functions with the counting ones (see the top comment).
#define ROUTER_DEFINE_COUNTING_ALLOCATOR()                                                  \
  void* operator new(std::size_t n) {                                                       \
    return ::router::testing::alloc_counter_internal::CountedAlloc(n);                      \
  }                                                                                         \
  void* operator new[](std::size_t n) {                                                     \
    return ::router::testing::alloc_counter_internal::CountedAlloc(n);                      \
  }                                                                                         \
  void* operator new(std::size_t n, std::align_val_t a) {                                   \
    return ::router::testing::alloc_counter_internal::CountedAlignedAlloc(n, a);            \
  }                                                                                         \
  void* operator new[](std::size_t n, std::align_val_t a) {                                 \
    return ::router::testing::alloc_counter_internal::CountedAlignedAlloc(n, a);            \
  }                                                                                         \
  void* operator new(std::size_t n, const std::nothrow_t&) noexcept {                       \
    return ::router::testing::alloc_counter_internal::CountedAlloc(n);                      \
  }                                                                                         \
  void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {                     \
    return ::router::testing::alloc_counter_internal::CountedAlloc(n);                      \
  }                                                                                         \
  void operator delete(void* p) noexcept { std::free(p); }                                  \
  void operator delete[](void* p) noexcept { std::free(p); }                                \
  void operator delete(void* p, std::size_t) noexcept { std::free(p); }                     \
  void operator delete[](void* p, std::size_t) noexcept { std::free(p); }                   \
  void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }                \
  void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }              \
  void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }   \
  void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); } \
  void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }           \
  void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }         \
  static_assert(true, "require a semicolon after the macro")
