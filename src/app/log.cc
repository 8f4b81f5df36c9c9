#include "app/log.h"

#include <chrono>
#include <cstdio>

namespace router::app {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
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
}

}  // namespace

void LogEvent(std::string_view level, std::string_view msg,
              std::initializer_list<LogField> fields) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string line = "{\"ts_ms\":" + std::to_string(now) + ",\"level\":\"";
  AppendEscaped(line, level);
  line += "\",\"msg\":\"";
  AppendEscaped(line, msg);
  line += "\"";
  for (const auto& [k, v] : fields) {
    line += ",\"";
    AppendEscaped(line, k);
    line += "\":\"";
    AppendEscaped(line, v);
    line += "\"";
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace router::app
