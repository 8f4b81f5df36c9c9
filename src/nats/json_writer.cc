#include "nats/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>

#include "base/status_macros.h"

namespace router::nats_adapter {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7), 0 if none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t left = s.size() - i;
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

// Bytes that go into a JSON string as they are (printable ASCII except '"' and '\\').
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

// Length of the leading run of plain bytes of s.
size_t PlainPrefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && kPlain[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  size_t i = PlainPrefix(s);
  if (i == s.size()) {  // the usual case: ids, names, keys
    out.push_back('"');
    out.append(s);
    out.push_back('"');
    return;
  }
  out.push_back('"');
  size_t run_start = 0;
  auto flush = [&] {
    if (i > run_start) out.append(s.data() + run_start, i - run_start);
  };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
      flush();
      out.append(kReplacement);
      run_start = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof(esc));
      }
    }
    run_start = ++i;
  }
  flush();
  out.push_back('"');
}

void AppendJsonDouble(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.push_back('0');
    return;
  }
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) {
    out.push_back('0');
    return;
  }
  out.append(buf, static_cast<size_t>(ptr - buf));
  // Keep a parsed double recognisable as one: 1.0 stays "1.0", not the integer "1".
  if (std::string_view(buf, static_cast<size_t>(ptr - buf)).find_first_of(".eEn") ==
      std::string_view::npos) {
    out.append(".0");
  }
}

void AppendJsonInt(std::string& out, int64_t value) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;  // 24 bytes always suffice for an int64
  out.append(buf, static_cast<size_t>(ptr - buf));
}

void AppendJsonElement(std::string& out, simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      out.push_back('{');
      bool first = true;
      const simdjson::dom::object object = element.get_object().value_unsafe();
      for (auto field : object) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonString(out, field.key);
        out.push_back(':');
        AppendJsonElement(out, field.value);
      }
      out.push_back('}');
      return;
    }
    case element_type::ARRAY: {
      out.push_back('[');
      bool first = true;
      const simdjson::dom::array array = element.get_array().value_unsafe();
      for (auto item : array) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonElement(out, item);
      }
      out.push_back(']');
      return;
    }
    case element_type::STRING:
      AppendJsonString(out, std::string_view(element.get_string().value_unsafe()));
      return;
    case element_type::INT64:
      AppendJsonInt(out, element.get_int64().value_unsafe());
      return;
    case element_type::UINT64: {
      char buf[24];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), element.get_uint64().value_unsafe());
      (void)ec;
      out.append(buf, static_cast<size_t>(ptr - buf));
      return;
    }
    case element_type::DOUBLE:
      AppendJsonDouble(out, element.get_double().value_unsafe());
      return;
    case element_type::BOOL:
      out.append(element.get_bool().value_unsafe() ? "true" : "false");
      return;
    case element_type::NULL_VALUE:
      out.append("null");
      return;
  }
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    if (!first_[depth_]) out_.push_back(',');
    first_[depth_] = false;
  }
}

void JsonWriter::Push(char open) {
  BeforeValue();
  out_.push_back(open);
  ROUTER_CHECK(depth_ < kMaxDepth);
  first_[++depth_] = true;
}

void JsonWriter::Pop(char close) {
  out_.push_back(close);
  if (depth_ > 0) --depth_;
}

JsonWriter& JsonWriter::BeginObject() {
  Push('{');
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  Pop('}');
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  Push('[');
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  Pop(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  if (PlainPrefix(key) == key.size()) {  // keys are literals: one append
    out_.push_back('"');
    out_.append(key);
    out_.append("\":", 2);
  } else {
    AppendJsonString(out_, key);
    out_.push_back(':');
  }
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  AppendJsonInt(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  AppendJsonDouble(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::Element(simdjson::dom::element element) {
  BeforeValue();
  AppendJsonElement(out_, element);
  return *this;
}

}  // namespace router::nats_adapter
