#pragma once
// ProcessStats: the process_* metrics (observability.md §2.5, PROC emitter) read from /proc/self
// at scrape time.
//
// Pure reads of procfs and getrlimit; thread-safe. Linux only.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace router::obs {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;  // soft RLIMIT_NOFILE
  double threads = 0;
  double start_time_seconds = 0;  // Unix epoch
};

// Reads the current process. UNAVAILABLE when /proc is not readable.
absl::StatusOr<ProcessStats> ReadProcessStats();

// Parses the text of /proc/<pid>/stat (fields after the parenthesised comm) with the given
// clock ticks per second, page size and boot time (epoch seconds, `btime` of /proc/stat).
// INVALID_ARGUMENT when the text is malformed. Exposed for tests.
absl::StatusOr<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                           int64_t page_size, int64_t boot_time_seconds);

}  // namespace router::obs
