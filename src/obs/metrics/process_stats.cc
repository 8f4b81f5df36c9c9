#include "obs/metrics/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/errors.h"

namespace router::obs {
namespace {

// proc(5) field numbers (1-based) of /proc/<pid>/stat.
constexpr size_t kUtime = 14;
constexpr size_t kStime = 15;
constexpr size_t kNumThreads = 20;
constexpr size_t kStartTime = 22;
constexpr size_t kVsize = 23;
constexpr size_t kRss = 24;

bool ReadFile(const char* path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

int64_t BootTimeSeconds() {
  std::string stat;
  if (!ReadFile("/proc/stat", stat)) return 0;
  const size_t pos = stat.find("\nbtime ");
  if (pos == std::string::npos) return 0;
  int64_t btime = 0;
  const char* begin = stat.data() + pos + 7;
  std::from_chars(begin, stat.data() + stat.size(), btime);
  return btime;
}

double CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

}  // namespace

absl::StatusOr<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                           int64_t page_size, int64_t boot_time_seconds) {
  // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) {
    return absl::InvalidArgumentError("malformed /proc/self/stat");
  }
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  size_t i = close + 1;
  while (i < stat.size()) {
    while (i < stat.size() && (stat[i] == ' ' || stat[i] == '\n')) ++i;
    size_t j = i;
    while (j < stat.size() && stat[j] != ' ' && stat[j] != '\n') ++j;
    if (j > i) fields.push_back(stat.substr(i, j - i));
    i = j;
  }
  auto field = [&](size_t number, int64_t& out) {
    const size_t index = number - 3;
    if (index >= fields.size()) return false;
    const std::string_view f = fields[index];
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return ec == std::errc() && ptr == f.data() + f.size();
  };
  int64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!field(kUtime, utime) || !field(kStime, stime) || !field(kNumThreads, threads) ||
      !field(kStartTime, start) || !field(kVsize, vsize) || !field(kRss, rss)) {
    return absl::InvalidArgumentError("malformed /proc/self/stat");
  }
  ProcessStats stats;
  const double ticks = static_cast<double>(ticks_per_second);
  stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stats.threads = static_cast<double>(threads);
  stats.start_time_seconds =
      static_cast<double>(boot_time_seconds) + static_cast<double>(start) / ticks;
  stats.virtual_memory_bytes = static_cast<double>(vsize);
  stats.resident_memory_bytes = static_cast<double>(rss) * static_cast<double>(page_size);
  return stats;
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  static const int64_t kBootTime = BootTimeSeconds();  // constant while the host runs
  std::string stat;
  if (!ReadFile("/proc/self/stat", stat)) {
    return absl::UnavailableError("cannot read /proc/self/stat");
  }
  absl::StatusOr<ProcessStats> stats =
      ParseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), kBootTime);
  if (!stats.ok()) return stats;
  stats->open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds = limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<double>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace router::obs
