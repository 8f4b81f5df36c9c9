#include "obs/tracing/index_ring.h"

#include <bit>

namespace router::obs {

IndexRing::IndexRing(size_t min_capacity)
    : mask_(std::bit_ceil(min_capacity < 2 ? size_t{2} : min_capacity) - 1),
      cells_(std::make_unique<Cell[]>(mask_ + 1)) {
  for (size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
}

bool IndexRing::TryPush(uint32_t value) {
  size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  Cell* cell;
  for (;;) {
    cell = &cells_[pos & mask_];
    size_t sequence = cell->sequence.load(std::memory_order_acquire);
    auto diff = static_cast<intptr_t>(sequence) - static_cast<intptr_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      return false;  // full
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);
    }
  }
  cell->value = value;
  cell->sequence.store(pos + 1, std::memory_order_release);
  return true;
}

bool IndexRing::TryPop(uint32_t& value) {
  size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
  Cell* cell;
  for (;;) {
    cell = &cells_[pos & mask_];
    size_t sequence = cell->sequence.load(std::memory_order_acquire);
    auto diff = static_cast<intptr_t>(sequence) - static_cast<intptr_t>(pos + 1);
    if (diff == 0) {
      if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      return false;  // empty
    } else {
      pos = dequeue_pos_.load(std::memory_order_relaxed);
    }
  }
  value = cell->value;
  cell->sequence.store(pos + mask_ + 1, std::memory_order_release);
  return true;
}

}  // namespace router::obs
