#pragma once
// Helpers for the NATS transport unit tests: reading the intake error details back from an
// absl::Status and parsing reply JSON with simdjson.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/errors.h"
#include "support/json_doc.h"

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

// JSON-pointer accessors for replies and envelopes (tests/support/json_doc.h).
using Json = router::testing::JsonDoc;

}  // namespace router::nats_adapter::testutil
