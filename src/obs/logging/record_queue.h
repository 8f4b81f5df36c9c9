#pragma once
// RecordQueue: the bounded multi-producer, single-consumer queue between callers and the log
// writer thread (OBS §5.4 `log.queue_capacity`; §1 O1). D. Vyukov's bounded array queue: each
// cell carries a sequence number, producers claim a slot with one CAS on the head counter.
// TryPush never blocks, waits or allocates: a full queue fails at once and the caller counts the
// drop. Records are moved into preallocated cells.
//
// Thread-safety: TryPush from any number of threads; TryPop and LooksEmpty from one consumer.

#include <atomic>
#include <cstddef>
#include <memory>

#include "obs/logging/log_record.h"

namespace router::obs {

class RecordQueue {
 public:
  explicit RecordQueue(size_t capacity);  // capacity >= 1
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  // Moves `*record` in and returns true; false (record untouched) when the queue is full.
  bool TryPush(LogRecord* record);
  // Moves the oldest record out; false when none is ready. Consumer only.
  bool TryPop(LogRecord* out);
  // True when the next cell holds no completed record (a seq_cst load). Consumer only.
  bool LooksEmpty() const;

  size_t Capacity() const { return capacity_; }

 private:
  struct Cell {
    std::atomic<size_t> sequence{0};
    LogRecord record;
  };

  const size_t capacity_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<size_t> head_{0};  // next position to claim (producers)
  alignas(64) std::atomic<size_t> tail_{0};  // next position to read (consumer)
};

}  // namespace router::obs
