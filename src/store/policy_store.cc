#include "store/policy_store.h"

#include "absl/strings/str_cat.h"
#include "base/errors.h"

namespace router::store {

std::string PolicyResource(std::string_view policy_id) {
  return absl::StrCat("policy/", AbslView(policy_id));
}

}  // namespace router::store
