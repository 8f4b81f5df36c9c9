// JSON parsing (RapidJSON SAX reader into our ordered tree) and the canonical/compact writers.
#include "policy/json_tree.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/errors.h"

namespace router::policy {
namespace {

absl::Status PolicyError(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, message, tag::kInvalidPolicy);
}

// SAX handler that builds a JsonValue. Containers under construction live on `stack_`; a finished
// value is attached to the container on top (or becomes the root).
class TreeBuilder {
 public:
  enum class Failure : uint8_t { kNone, kDepth, kEncoding };

  explicit TreeBuilder(int max_depth) : max_depth_(max_depth) {}

  bool Null() { return Attach(JsonValue{}); }
  bool Bool(bool b) {
    JsonValue v;
    v.type = JsonValue::Type::kBool;
    v.boolean = b;
    return Attach(std::move(v));
  }
  // Never called with kParseNumbersAsStringsFlag, but the reader's handler concept requires them.
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    JsonValue v;
    v.type = JsonValue::Type::kNumber;
    v.str.assign(str, len);
    v.integer_token = v.str.find_first_of(".eE") == std::string::npos;
    return Attach(std::move(v));
  }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    std::string_view s(str, len);
    if (!IsValidUtf8(s)) {
      failure_ = Failure::kEncoding;
      return false;
    }
    JsonValue v;
    v.type = JsonValue::Type::kString;
    v.str.assign(s);
    return Attach(std::move(v));
  }
  bool StartObject() { return Open(JsonValue::Type::kObject); }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    std::string_view s(str, len);
    if (!IsValidUtf8(s)) {
      failure_ = Failure::kEncoding;
      return false;
    }
    stack_.back().value.members.push_back(JsonMember{std::string(s), JsonValue{}});
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(JsonValue::Type::kArray); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  Failure failure() const { return failure_; }
  JsonValue TakeRoot() { return std::move(root_); }

 private:
  struct Frame {
    JsonValue value;
  };

  bool Open(JsonValue::Type type) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      failure_ = Failure::kDepth;
      return false;
    }
    Frame f;
    f.value.type = type;
    stack_.push_back(std::move(f));
    return true;
  }
  bool Close() {
    JsonValue v = std::move(stack_.back().value);
    stack_.pop_back();
    return Attach(std::move(v));
  }
  bool Attach(JsonValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    JsonValue& top = stack_.back().value;
    if (top.type == JsonValue::Type::kObject) {
      top.members.back().value = std::move(v);  // Key() pushed the member
    } else {
      top.items.push_back(std::move(v));
    }
    return true;
  }

  int max_depth_;
  Failure failure_ = Failure::kNone;
  std::vector<Frame> stack_;
  JsonValue root_;
};

void AppendHex2(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

void Write(const JsonValue& v, bool sorted, std::string& out) {
  switch (v.type) {
    case JsonValue::Type::kNull:
      out += "null";
      return;
    case JsonValue::Type::kBool:
      out += v.boolean ? "true" : "false";
      return;
    case JsonValue::Type::kNumber:
      out += v.str;
      return;
    case JsonValue::Type::kString:
      AppendJsonString(out, v.str);
      return;
    case JsonValue::Type::kArray: {
      out += '[';
      bool first = true;
      for (const JsonValue& item : v.items) {
        if (!first) out += ',';
        first = false;
        Write(item, sorted, out);
      }
      out += ']';
      return;
    }
    case JsonValue::Type::kObject: {
      out += '{';
      std::vector<const JsonMember*> order;
      order.reserve(v.members.size());
      for (const JsonMember& m : v.members) order.push_back(&m);
      if (sorted) {
        std::stable_sort(order.begin(), order.end(),
                         [](const JsonMember* a, const JsonMember* b) { return a->key < b->key; });
      }
      bool first = true;
      for (const JsonMember* m : order) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, m->key);
        out += ':';
        Write(m->value, sorted, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    i += len;
  }
  return true;
}

absl::StatusOr<JsonValue> ParseJson(std::string_view text, const JsonParseOptions& options) {
  if (options.max_bytes != 0 && text.size() > options.max_bytes) {
    return PolicyError(absl::StrCat("$: document exceeds ", options.max_bytes, " bytes"));
  }
  TreeBuilder builder(options.max_depth);
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (result.IsError()) {
    if (builder.failure() == TreeBuilder::Failure::kDepth) {
      return PolicyError(absl::StrCat("$: nesting deeper than ", options.max_depth, " levels"));
    }
    const char* detail =
        builder.failure() == TreeBuilder::Failure::kEncoding
            ? rapidjson::GetParseError_En(rapidjson::kParseErrorStringInvalidEncoding)
            : rapidjson::GetParseError_En(result.Code());
    return PolicyError(absl::StrCat("$: invalid JSON at offset ", result.Offset(), ": ", detail));
  }
  // MemoryStream reports a NUL byte like the end of input: anything left over is trailing data.
  if (stream.Tell() != text.size()) {
    return PolicyError(
        absl::StrCat("$: invalid JSON at offset ", stream.Tell(), ": ",
                     rapidjson::GetParseError_En(rapidjson::kParseErrorDocumentRootNotSingular)));
  }
  return builder.TakeRoot();
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
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
        if (c < 0x20) {
          AppendHex2(out, c);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

std::string WriteCanonical(const JsonValue& value) {
  std::string out;
  Write(value, /*sorted=*/true, out);
  return out;
}

std::string WriteCompact(const JsonValue& value) {
  std::string out;
  Write(value, /*sorted=*/false, out);
  return out;
}

}  // namespace router::policy
