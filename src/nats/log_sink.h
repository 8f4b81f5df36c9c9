#pragma once
// LogSink: how the NATS transport reports lifecycle and error events (OBS §5.2 names such as
// `nats.connected`, `nats.disconnected`, `jetstream.stream_ensured`). The Application may pass
// its own sink; the default writes one OBS §5.1 JSON line per event to stdout (subsystem
// `nats`), like app/log.h. Never called per request except for errors that are rare by
// construction (DLQ publish failures). Thread-safe: sinks must accept concurrent calls.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace router::nats_adapter {

using LogContext = std::vector<std::pair<std::string, std::string>>;

struct LogRecord {
  std::string_view level;  // "ERROR" | "WARN" | "INFO" | "DEBUG"
  std::string_view event;  // OBS §5.2 catalogue name
  std::string_view message;
  const LogContext& context;
};

using LogSink = std::function<void(const LogRecord&)>;

// The default sink: `{"timestamp":..., "level":..., "component":"router", "subsystem":"nats",
// "event":..., "message":..., "context":{...}}` on stdout, one fwrite per line.
LogSink StdoutLogSink();

// A sink that drops everything.
LogSink NullLogSink();

// Calls `sink` if it is set.
void Log(const LogSink& sink, std::string_view level, std::string_view event,
         std::string_view message, const LogContext& context = {});

}  // namespace router::nats_adapter
