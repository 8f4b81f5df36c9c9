#include "nats/log_sink.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "nats/json_writer.h"

namespace router::nats_adapter {
namespace {

std::string Rfc3339Now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1000000));
  return buf;
}

}  // namespace

LogSink StdoutLogSink() {
  return [](const LogRecord& record) {
    std::string line;
    line.reserve(256);
    JsonWriter w(line);
    w.BeginObject()
        .Field("timestamp", Rfc3339Now())
        .Field("level", record.level)
        .Field("component", "router")
        .Field("subsystem", "nats")
        .Field("event", record.event)
        .Field("message", record.message);
    if (!record.context.empty()) {
      w.Key("context").BeginObject();
      for (const auto& [k, v] : record.context) w.Field(k, v);
      w.EndObject();
    }
    w.EndObject();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
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
