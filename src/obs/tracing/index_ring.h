#pragma once
// IndexRing: a bounded multi-producer multi-consumer queue of uint32 indices (Dmitry Vyukov's
// array queue with per-cell sequence numbers). The tracer keeps two of them over its span pool
// (OBS §6.6): the free list and the queue of ended spans awaiting export.
//
// Thread-safe. TryPush / TryPop never wait: a full (or empty) ring answers false at once, so a
// request thread is never blocked by the exporter (OBS O1). They take no lock and do not
// allocate. A slot whose previous value is still being taken out by another thread counts as
// occupied for that moment, so "full"/"empty" can be reported a few nanoseconds early; callers
// treat that like a real full/empty ring.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace router::obs {

class IndexRing {
 public:
  // Capacity is min_capacity rounded up to a power of two (at least 2).
  explicit IndexRing(size_t min_capacity);

  IndexRing(const IndexRing&) = delete;
  IndexRing& operator=(const IndexRing&) = delete;

  // Appends value; false when the ring is full.
  bool TryPush(uint32_t value);
  // Takes the oldest value; false when the ring is empty.
  bool TryPop(uint32_t& value);

  size_t capacity() const { return mask_ + 1; }

 private:
  struct Cell {
    // Acquire/release: a cell's sequence publishes its value to the other side.
    std::atomic<size_t> sequence;
    uint32_t value;
  };

  const size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  // Relaxed CAS: positions only reserve cells; the cell sequences carry the ordering.
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
};

}  // namespace router::obs
