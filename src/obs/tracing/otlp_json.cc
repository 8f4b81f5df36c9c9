#include "obs/tracing/otlp_json.h"

#include <limits.h>
#include <unistd.h>

#include <charconv>
#include <cmath>

namespace router::obs {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlongs,
// surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

void AppendKeyString(std::string_view key, std::string_view value, std::string& out) {
  out += '"';
  out += key;
  out += "\":";
  AppendJsonString(value, out);
}

void AppendInt64String(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;  // 24 chars always fit an int64
  out += '"';
  out.append(buf, end);
  out += '"';
}

void AppendUnsigned(uint64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out.append(buf, end);
}

// Proto3 JSON double: a number, or "NaN" / "Infinity" / "-Infinity".
void AppendDouble(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    (void)ec;  // shortest round-trip form always fits 32 chars
    out.append(buf, end);
  }
}

void AppendHexField(std::string_view key, const char* hex, size_t n, std::string& out) {
  out += '"';
  out += key;
  out += "\":\"";
  out.append(hex, n);
  out += '"';
}

void AppendStringAttribute(std::string_view key, std::string_view value, std::string& out) {
  out += "{\"key\":";
  AppendJsonString(key, out);
  out += ",\"value\":{\"stringValue\":";
  AppendJsonString(value, out);
  out += "}}";
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += kHexDigits[c >> 4];
            out += kHexDigits[c & 0xf];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

AttributeList ResourceAttributes(const TracingOptions& options) {
  AttributeList out;
  out.emplace_back("service.name", options.service_name);
  if (!options.service_version.empty())
    out.emplace_back("service.version", options.service_version);
  if (!options.service_instance_id.empty()) {
    out.emplace_back("service.instance.id", options.service_instance_id);
  }
  std::string host = options.host_name.empty() ? HostName() : options.host_name;
  if (!host.empty()) out.emplace_back("host.name", host);
  for (const auto& [key, value] : options.resource_attributes) {
    bool reserved = false;
    for (const auto& [fixed_key, fixed_value] : out) reserved = reserved || fixed_key == key;
    if (!reserved) out.emplace_back(key, value);
  }
  return out;
}

std::string OtlpJsonPrefix(const AttributeList& resource, std::string_view scope_name,
                           std::string_view scope_version) {
  std::string out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  for (size_t i = 0; i < resource.size(); ++i) {
    if (i > 0) out += ',';
    AppendStringAttribute(resource[i].first, resource[i].second, out);
  }
  out += "]},\"scopeSpans\":[{\"scope\":{";
  AppendKeyString("name", scope_name, out);
  if (!scope_version.empty()) {
    out += ',';
    AppendKeyString("version", scope_version, out);
  }
  out += "},\"spans\":[";
  return out;
}

void AppendOtlpSpanJson(const SpanRecord& span, std::string& out) {
  char hex[32];
  out += '{';
  span.trace_id.WriteHex(hex);
  AppendHexField("traceId", hex, 32, out);
  out += ',';
  span.span_id.WriteHex(hex);
  AppendHexField("spanId", hex, 16, out);
  if (span.parent_span_id.IsValid()) {
    out += ',';
    span.parent_span_id.WriteHex(hex);
    AppendHexField("parentSpanId", hex, 16, out);
  }
  if (span.tracestate.size > 0) {
    out += ',';
    AppendKeyString("traceState", span.View(span.tracestate), out);
  }
  out += ',';
  AppendKeyString("name", span.View(span.name), out);
  out += ",\"kind\":";
  AppendUnsigned(static_cast<uint64_t>(span.kind), out);
  out += ",\"startTimeUnixNano\":";
  AppendInt64String(span.start_unix_nano, out);
  out += ",\"endTimeUnixNano\":";
  AppendInt64String(span.end_unix_nano, out);
  out += ",\"attributes\":[";
  for (uint16_t i = 0; i < span.attribute_count; ++i) {
    const SpanAttribute& a = span.attributes[i];
    if (i > 0) out += ',';
    out += "{\"key\":";
    AppendJsonString(span.View(a.key), out);
    out += ",\"value\":{";
    switch (a.type) {
      case SpanAttribute::Type::kString:
        out += "\"stringValue\":";
        AppendJsonString(span.View(a.string_value), out);
        break;
      case SpanAttribute::Type::kInt:
        out += "\"intValue\":";
        AppendInt64String(a.int_value, out);
        break;
      case SpanAttribute::Type::kDouble:
        out += "\"doubleValue\":";
        AppendDouble(a.double_value, out);
        break;
      case SpanAttribute::Type::kBool:
        out += "\"boolValue\":";
        out += a.bool_value ? "true" : "false";
        break;
    }
    out += "}}";
  }
  out += ']';
  if (span.dropped_attributes > 0) {
    out += ",\"droppedAttributesCount\":";
    AppendUnsigned(span.dropped_attributes, out);
  }
  if (span.status != SpanStatusCode::kUnset) {
    out += ",\"status\":{\"code\":";
    AppendUnsigned(static_cast<uint64_t>(span.status), out);
    if (span.status_message.size > 0) {
      out += ',';
      AppendKeyString("message", span.View(span.status_message), out);
    }
    out += '}';
  }
  out += '}';
}

}  // namespace router::obs
