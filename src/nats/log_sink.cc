#include "nats/log_sink.h"

#include "obs/logging/logger.h"

namespace router::nats_adapter {
namespace {

obs::LogLevel ToLevel(std::string_view level) {
  if (level == "ERROR") return obs::LogLevel::kError;
  if (level == "WARN") return obs::LogLevel::kWarn;
  if (level == "DEBUG") return obs::LogLevel::kDebug;
  return obs::LogLevel::kInfo;
}

}  // namespace

LogSink GlobalLogSink() {
  return [](const LogRecord& record) {
    const obs::LogLevel level = ToLevel(record.level);
    obs::LogBuilder builder = obs::GlobalLogger().At(level, "nats", record.event, record.message);
    for (const auto& [k, v] : record.context) builder.Field(k, v);
    if (level == obs::LogLevel::kInfo) builder.NoRateLimit();  // lifecycle events (§5.4)
  };
}

LogSink NullLogSink() {
  return [](const LogRecord&) {};
}

void Log(const LogSink& sink, std::string_view level, std::string_view event,
         std::string_view message, const LogContext& context) {
  if (!sink) return;
  sink(LogRecord{level, event, message, context});
}

}  // namespace router::nats_adapter
