#pragma once
// Helpers for the NATS transport unit tests: reading the intake error details back from an
// absl::Status and parsing reply JSON with simdjson.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/errors.h"

namespace router::nats_adapter::testutil {

inline std::string Detail(const absl::Status& status, std::string_view key) {
  for (const auto& [k, v] : ErrorDetails(status)) {
    if (k == key) return v;
  }
  return "<absent>";
}

// Asserts an intake failure: code, reason, exact §4.2 message and (optional) field.
inline ::testing::AssertionResult IsIntake(const absl::Status& status, std::string_view code,
                                           std::string_view reason, std::string_view message,
                                           std::string_view field = "<absent>") {
  if (status.ok()) return ::testing::AssertionFailure() << "status is OK";
  auto fail = ::testing::AssertionFailure();
  bool ok = true;
  if (Detail(status, "intake_error_code") != code) {
    ok = false;
    fail << "code " << Detail(status, "intake_error_code") << " != " << code << "; ";
  }
  if (Detail(status, "reason") != reason) {
    ok = false;
    fail << "reason " << Detail(status, "reason") << " != " << reason << "; ";
  }
  if (StdView(status.message()) != message) {
    ok = false;
    fail << "message \"" << status.message() << "\" != \"" << message << "\"; ";
  }
  if (Detail(status, "field") != field) {
    ok = false;
    fail << "field " << Detail(status, "field") << " != " << field << "; ";
  }
  if (ok) return ::testing::AssertionSuccess();
  return fail;
}

// A parsed JSON document with JSON-pointer accessors ("<absent>" / -1 when missing).
class Json {
 public:
  explicit Json(std::string_view text) : text_(text) {
    ok_ = parser_.parse(text_).get(root_) == simdjson::SUCCESS;
  }
  bool ok() const { return ok_; }
  std::string Str(const char* pointer) const {
    std::string_view v;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return "<absent>";
    return std::string(v);
  }
  int64_t Int(const char* pointer) const {
    int64_t v = -1;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return -1;
    return v;
  }
  bool Bool(const char* pointer) const {
    bool v = false;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return false;
    return v;
  }
  bool Has(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
  bool IsNull(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
  }

 private:
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

}  // namespace router::nats_adapter::testutil
