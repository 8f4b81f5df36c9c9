#pragma once
// LogSink: where the logger's writer thread puts serialized lines (OBS §5.4, configuration
// `log.output`): stdout, stderr, or a file opened for append and reopened on SIGHUP (log
// rotation: rename the file, then Reopen() creates a new one at the configured path).
// MemoryLogSink keeps the lines in memory for tests.
//
// Write() is called by one thread at a time (the logger's writer; after Stop(), the stopping
// thread); Reopen() may be called from any thread concurrently with Write(). The file sink
// swaps descriptors without a lock; MemoryLogSink locks.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace router::obs {

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Writes whole lines (each ends in '\n'). Blocking I/O is allowed: only the writer calls it.
  virtual absl::Status Write(std::string_view lines) = 0;
  // Reopens the destination (files); a no-op for standard streams.
  virtual absl::Status Reopen() { return absl::OkStatus(); }
};

enum class LogOutput : uint8_t { kStdout, kStderr, kFile };

// Parses `log.output`: "stdout" | "stderr" | "file". INVALID_ARGUMENT otherwise.
absl::StatusOr<LogOutput> ParseLogOutput(std::string_view text);

// Writes to file descriptor 1 or 2 with write(2) (not through stdio); never closes it.
std::unique_ptr<LogSink> NewStdoutSink();
std::unique_ptr<LogSink> NewStderrSink();

// Opens `path` for append (created with mode 0640 if missing). The error names the path and
// the OS error. Reopen() opens the path again (after a rename by logrotate) and the next
// Write() goes to the new file; on failure the old file stays in use.
absl::StatusOr<std::unique_ptr<LogSink>> NewFileSink(std::string path);

// Keeps everything written, for tests.
class MemoryLogSink final : public LogSink {
 public:
  absl::Status Write(std::string_view lines) override;
  absl::Status Reopen() override;

  std::string Contents() const;
  // The lines written so far, without their '\n'.
  std::vector<std::string> Lines() const;
  int ReopenCount() const;

 private:
  mutable absl::Mutex mu_;
  std::string contents_ ABSL_GUARDED_BY(mu_);
  int reopen_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace router::obs
