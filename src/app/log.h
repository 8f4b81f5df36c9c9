#pragma once
// Lifecycle logging in the record format of OBS §5.1: one JSON object per line on stdout with
// timestamp (RFC 3339, microseconds), level, component "router", subsystem, event, message and
// a `context` object. Only lifecycle and error events use it; nothing is logged per request.
// The full logger (log.level, redaction, rate limiting, file output) arrives with the
// observability issue (#3). Thread-safe (one write per line).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace router::app {

using LogField = std::pair<std::string_view, std::string>;

// level: "ERROR" | "WARN" | "INFO" | "DEBUG"; event: the catalogue name (OBS §5.2).
void LogEvent(std::string_view level, std::string_view subsystem, std::string_view event,
              std::string_view message, std::initializer_list<LogField> context = {});

}  // namespace router::app
