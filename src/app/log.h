#pragma once
// LogEvent: the app's lifecycle and error events, forwarded to the process logger
// (obs/logging/logger.h: OBS §5 record format, levels, redaction, rate limiting, bounded queue).
// Nothing is logged per request at INFO. Thread-safe.

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
