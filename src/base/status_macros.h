#pragma once
// Propagation macros for absl::Status / absl::StatusOr (absl 20220623 ships none).

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ROUTER_CONCAT_INNER_(a, b) a##b
#define ROUTER_CONCAT_(a, b) ROUTER_CONCAT_INNER_(a, b)

#define ROUTER_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status router_status_ = (expr);          \
    if (!router_status_.ok()) return router_status_; \
  } while (0)

#define ROUTER_ASSIGN_OR_RETURN(lhs, expr) \
  ROUTER_ASSIGN_OR_RETURN_IMPL_(ROUTER_CONCAT_(router_statusor_, __LINE__), lhs, expr)

#define ROUTER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

// Aborts in every build; for broken invariants only, never for input.
#define ROUTER_CHECK(cond)                                         \
  do {                                                             \
    if (!(cond)) ::router::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

namespace router {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
}  // namespace router
