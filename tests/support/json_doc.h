#pragma once
// JsonDoc: a parsed JSON document read by JSON pointer ("/assignment/assignment_id"), "<absent>"
// / -1 / false when a value is missing or of another type. Shared by the NATS unit tests and the
// integration suites for checking replies, envelopes and stored messages. Header-only (needs
// simdjson); thread-compatible.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace router::testing {

// A parsed JSON document read by JSON pointer ("/assignment/assignment_id").
class JsonDoc {
 public:
  explicit JsonDoc(std::string_view text) : text_(text) {
    ok_ = parser_.parse(text_).get(root_) == simdjson::SUCCESS;
  }
  JsonDoc(const JsonDoc&) = delete;
  JsonDoc& operator=(const JsonDoc&) = delete;

  bool ok() const { return ok_; }
  // The string at `pointer`, "<absent>" when missing or not a string.
  std::string Str(const char* pointer) const {
    std::string_view v;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return "<absent>";
    return std::string(v);
  }
  // The integer at `pointer`, -1 when missing or not an integer.
  int64_t Int(const char* pointer) const {
    int64_t v = -1;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return -1;
    return v;
  }
  // The number at `pointer`, -1 when missing or not a number.
  double Num(const char* pointer) const {
    double v = -1;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return -1;
    return v;
  }
  bool Bool(const char* pointer) const {
    bool v = false;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return false;
    return v;
  }
  bool IsNull(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
  }
  bool Has(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
  // The strings of the array at `pointer` (non-strings skipped); empty when missing.
  std::vector<std::string> Strings(const char* pointer) const {
    std::vector<std::string> out;
    simdjson::dom::array arr;
    if (!ok_ || root_.at_pointer(pointer).get(arr) != simdjson::SUCCESS) return out;
    for (auto e : arr) {
      std::string_view s;
      if (e.get(s) == simdjson::SUCCESS) out.emplace_back(s);
    }
    return out;
  }
  simdjson::dom::element root() const { return root_; }

 private:
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

}  // namespace router::testing
