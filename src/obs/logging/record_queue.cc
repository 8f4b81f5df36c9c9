#include "obs/logging/record_queue.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace router::obs {

// Cell i starts with sequence i: "free for the producer of position i". A producer that wrote
// position p stores p + 1 ("full, for the consumer of position p"); the consumer that read it
// stores p + capacity ("free for the producer of position p + capacity").

RecordQueue::RecordQueue(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)), cells_(new Cell[capacity_]) {
  for (size_t i = 0; i < capacity_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
}

bool RecordQueue::TryPush(LogRecord* record) {
  size_t pos = head_.load(std::memory_order_relaxed);
  for (;;) {
    Cell& cell = cells_[pos % capacity_];
    const size_t sequence = cell.sequence.load(std::memory_order_acquire);
    const auto diff = static_cast<std::intptr_t>(sequence) - static_cast<std::intptr_t>(pos);
    if (diff == 0) {
      if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        cell.record = std::move(*record);
        // seq_cst (not just release): the logger's sleep/wake handshake relies on a single
        // total order of this store, the producer's load of `writer_sleeping_`, and the
        // writer's store of it and its LooksEmpty() load (a Dekker pattern; see logger.cc).
        cell.sequence.store(pos + 1, std::memory_order_seq_cst);
        return true;
      }
      // pos was reloaded by the failed CAS.
    } else if (diff < 0) {
      return false;  // the cell still holds a record from one lap ago: full
    } else {
      pos = head_.load(std::memory_order_relaxed);
    }
  }
}

bool RecordQueue::TryPop(LogRecord* out) {
  const size_t pos = tail_.load(std::memory_order_relaxed);
  Cell& cell = cells_[pos % capacity_];
  if (cell.sequence.load(std::memory_order_acquire) != pos + 1) return false;
  *out = std::move(cell.record);
  cell.record = LogRecord();
  tail_.store(pos + 1, std::memory_order_relaxed);
  cell.sequence.store(pos + capacity_, std::memory_order_release);
  return true;
}

bool RecordQueue::LooksEmpty() const {
  const size_t pos = tail_.load(std::memory_order_relaxed);
  return cells_[pos % capacity_].sequence.load(std::memory_order_seq_cst) != pos + 1;
}

}  // namespace router::obs
