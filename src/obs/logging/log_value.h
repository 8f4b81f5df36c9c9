#pragma once
// Value types of a structured log record (OBS §5.1, §5.2): the level, the typed values of the
// `context` object (string, number, bool, null, and nested arrays/objects so that a whole
// object under a secret key can be redacted, §5.3), and a key/value field.
//
// Call sites build context with braces: {{"grpc_port", 9000}, {"path", path}, {"ok", true}}.
// Plain values; no shared state; thread-compatible.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace router::obs {

// Severity, most severe first; numeric order is used for the `log.level` threshold.
enum class LogLevel : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
inline constexpr int kNumLogLevels = 4;

// "ERROR" | "WARN" | "INFO" | "DEBUG" (the `level` key of §5.1 and the metric label).
std::string_view LogLevelName(LogLevel level);

// Parses the `log.level` config value "error" | "warn" | "info" | "debug" (ASCII
// case-insensitive; "warning" is accepted for "warn"). INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);

struct LogField;

enum class LogValueKind : uint8_t { kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };

// One JSON value of the `context` object.
class LogValue {
 public:
  LogValue() = default;  // null
  LogValue(std::nullptr_t) {}
  LogValue(bool b) : v_(b) {}
  template <std::signed_integral T>
  requires(!std::same_as<T, bool>) LogValue(T n) : v_(static_cast<int64_t>(n)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogValue(T n) : v_(static_cast<uint64_t>(n)) {}
  template <std::floating_point T>
  LogValue(T d) : v_(static_cast<double>(d)) {}
  LogValue(const char* s) : v_(std::string(s == nullptr ? "" : s)) {}
  LogValue(std::string_view s) : v_(std::string(s)) {}
  LogValue(std::string s) : v_(std::move(s)) {}

  static LogValue Array(std::vector<LogValue> items);
  static LogValue Object(std::vector<LogField> fields);

  LogValueKind Kind() const { return static_cast<LogValueKind>(v_.index()); }
  // Each of these REQUIRES the matching Kind().
  bool BoolValue() const { return std::get<bool>(v_); }
  int64_t IntValue() const { return std::get<int64_t>(v_); }
  uint64_t UintValue() const { return std::get<uint64_t>(v_); }
  double DoubleValue() const { return std::get<double>(v_); }
  const std::string& StringValue() const { return std::get<std::string>(v_); }
  const std::vector<LogValue>& ArrayItems() const { return std::get<std::vector<LogValue>>(v_); }
  const std::vector<LogField>& ObjectFields() const { return std::get<std::vector<LogField>>(v_); }

 private:
  // Alternative order matches LogValueKind.
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, std::vector<LogValue>,
               std::vector<LogField>>
      v_;
};

struct LogField {
  std::string key;
  LogValue value;
};

}  // namespace router::obs
