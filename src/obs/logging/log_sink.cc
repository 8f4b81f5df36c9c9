#include "obs/logging/log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "base/errors.h"

namespace router::obs {
namespace {

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = std::string("log write failed: ") + std::strerror(errno);
      return absl::UnavailableError(AbslView(message));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

class StdStreamSink final : public LogSink {
 public:
  explicit StdStreamSink(int fd) : fd_(fd) {}
  absl::Status Write(std::string_view lines) override { return WriteAll(fd_, lines); }

 private:
  const int fd_;
};

absl::StatusOr<int> OpenForAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    const std::string message = "cannot open log file \"" + path + "\": " + std::strerror(errno);
    return absl::UnavailableError(AbslView(message));
  }
  return fd;
}

// The fd is used by the writing thread only. Reopen() (any thread) opens the new file and
// leaves it in `pending_fd_`; the next Write() swaps it in and closes the old one. So no
// lock is held around I/O and a Reopen never waits for a slow write.
class FileSink final : public LogSink {
 public:
  FileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~FileSink() override {
    ::close(fd_);
    const int pending = pending_fd_.exchange(-1, std::memory_order_acquire);
    if (pending >= 0) ::close(pending);
  }

  absl::Status Write(std::string_view lines) override {
    // acquire: pairs with Reopen's release so the new descriptor is fully opened.
    const int pending = pending_fd_.exchange(-1, std::memory_order_acquire);
    if (pending >= 0) {
      ::close(fd_);
      fd_ = pending;
    }
    return WriteAll(fd_, lines);
  }

  // On failure the current file stays in use.
  absl::Status Reopen() override {
    absl::StatusOr<int> fd = OpenForAppend(path_);
    if (!fd.ok()) return fd.status();
    const int replaced = pending_fd_.exchange(*fd, std::memory_order_acq_rel);
    if (replaced >= 0) ::close(replaced);  // two Reopens before a write: keep the newest
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  int fd_;  // writing thread only
  std::atomic<int> pending_fd_{-1};
};

}  // namespace

absl::StatusOr<LogOutput> ParseLogOutput(std::string_view text) {
  if (text == "stdout") return LogOutput::kStdout;
  if (text == "stderr") return LogOutput::kStderr;
  if (text == "file") return LogOutput::kFile;
  return absl::InvalidArgumentError("log output must be one of stdout, stderr, file");
}

std::unique_ptr<LogSink> NewStdoutSink() { return std::make_unique<StdStreamSink>(1); }
std::unique_ptr<LogSink> NewStderrSink() { return std::make_unique<StdStreamSink>(2); }

absl::StatusOr<std::unique_ptr<LogSink>> NewFileSink(std::string path) {
  absl::StatusOr<int> fd = OpenForAppend(path);
  if (!fd.ok()) return fd.status();
  return std::make_unique<FileSink>(std::move(path), *fd);
}

absl::Status MemoryLogSink::Write(std::string_view lines) {
  absl::MutexLock lock(&mu_);
  contents_.append(lines);
  return absl::OkStatus();
}

absl::Status MemoryLogSink::Reopen() {
  absl::MutexLock lock(&mu_);
  ++reopen_count_;
  return absl::OkStatus();
}

std::string MemoryLogSink::Contents() const {
  absl::MutexLock lock(&mu_);
  return contents_;
}

std::vector<std::string> MemoryLogSink::Lines() const {
  const std::string all = Contents();
  std::vector<std::string> out;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    out.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int MemoryLogSink::ReopenCount() const {
  absl::MutexLock lock(&mu_);
  return reopen_count_;
}

}  // namespace router::obs
