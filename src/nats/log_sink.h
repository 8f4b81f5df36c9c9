#pragma once
// LogSink: how the NATS transport reports lifecycle and error events (OBS §5.2 names such as
// `nats.connected`, `nats.disconnected`, `jetstream.stream_ensured`). The default sink hands
// every event to the process-wide structured logger (obs::GlobalLogger(), OBS §5; subsystem
// `nats`; INFO lifecycle events are not rate limited); tests pass NullLogSink(). Never called
// per request except for errors that are rare by construction (DLQ publish failures).
// Thread-safe: sinks must accept concurrent calls.

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

// The default sink: obs::GlobalLogger() with subsystem `nats`, context fields as given.
LogSink GlobalLogSink();

// A sink that drops everything.
LogSink NullLogSink();

// Calls `sink` if it is set.
void Log(const LogSink& sink, std::string_view level, std::string_view event,
         std::string_view message, const LogContext& context = {});

}  // namespace router::nats_adapter
