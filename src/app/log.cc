#include "app/log.h"

#include "obs/logging/logger.h"

namespace router::app {
namespace {

obs::LogLevel ParseLevel(std::string_view level) {
  if (level == "ERROR") return obs::LogLevel::kError;
  if (level == "WARN") return obs::LogLevel::kWarn;
  if (level == "DEBUG") return obs::LogLevel::kDebug;
  return obs::LogLevel::kInfo;
}

}  // namespace

void LogEvent(std::string_view level, std::string_view subsystem, std::string_view event,
              std::string_view message, std::initializer_list<LogField> context) {
  obs::Logger& logger = obs::GlobalLogger();
  obs::LogBuilder b = logger.At(ParseLevel(level), subsystem, event, message);
  if (!b.Enabled()) return;
  for (const auto& [key, value] : context) b.Field(key, value);
}

}  // namespace router::app
