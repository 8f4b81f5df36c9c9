#include "obs/logging/log_value.h"

#include <string>
#include <utility>

#include "absl/status/status.h"

namespace router::obs {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DEBUG";
  }
  return "INFO";
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (lower == "error") return LogLevel::kError;
  if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "debug") return LogLevel::kDebug;
  return absl::InvalidArgumentError("log level must be one of error, warn, info, debug");
}

LogValue LogValue::Array(std::vector<LogValue> items) {
  LogValue v;
  v.v_ = std::move(items);
  return v;
}

LogValue LogValue::Object(std::vector<LogField> fields) {
  LogValue v;
  v.v_ = std::move(fields);
  return v;
}

}  // namespace router::obs
