#pragma once
// Minimal structured startup/shutdown logging: one JSON object per line on stdout with ts,
// level, msg and fields. The full logger (levels from config, redaction, rate limiting) arrives
// with the observability issue (#3). Thread-safe (one write per line).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace router::app {

using LogField = std::pair<std::string_view, std::string>;

void LogEvent(std::string_view level, std::string_view msg,
              std::initializer_list<LogField> fields = {});

}  // namespace router::app
