#include "app/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace router::app {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

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

void LogEvent(std::string_view level, std::string_view subsystem, std::string_view event,
              std::string_view message, std::initializer_list<LogField> context) {
  std::string line = "{\"timestamp\":\"" + Rfc3339Now() + "\",\"level\":";
  AppendEscaped(line, level);
  line += ",\"component\":\"router\",\"subsystem\":";
  AppendEscaped(line, subsystem);
  line += ",\"event\":";
  AppendEscaped(line, event);
  line += ",\"message\":";
  AppendEscaped(line, message);
  if (context.size() > 0) {
    line += ",\"context\":{";
    bool first = true;
    for (const auto& [k, v] : context) {
      if (!first) line.push_back(',');
      first = false;
      AppendEscaped(line, k);
      line.push_back(':');
      AppendEscaped(line, v);
    }
    line.push_back('}');
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace router::app
