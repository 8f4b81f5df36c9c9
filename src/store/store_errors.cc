#include "store/store_errors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/errors.h"

namespace router::store {

absl::Status VersionConflictError(int64_t current_version) {
  return MakeError(absl::StatusCode::kAborted,
                   absl::StrCat("version conflict: current version is ", current_version),
                   tag::kVersionConflict);
}

absl::Status QuotaExceededError(std::string_view tenant_id, int64_t count, int64_t max) {
  return MakeError(absl::StatusCode::kResourceExhausted,
                   absl::StrCat("policy quota exceeded: tenant \"", AbslView(tenant_id), "\" has ",
                                count, " policies (max ", max, ")"),
                   tag::kQuotaExceeded);
}

absl::Status PolicyNotFoundError(std::string_view tenant_id, std::string_view policy_id) {
  return MakeError(absl::StatusCode::kNotFound,
                   absl::StrCat("policy \"", AbslView(policy_id), "\" not found for tenant \"",
                                AbslView(tenant_id), "\""),
                   tag::kNotFound);
}

absl::Status StoreInternalError(std::string_view cause) {
  absl::Status status = MakeError(absl::StatusCode::kInternal, "internal error", tag::kInternal);
  AddErrorDetail(status, "cause", cause);
  return status;
}

}  // namespace router::store
