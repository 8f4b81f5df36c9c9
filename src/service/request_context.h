#pragma once
// RequestContext: the routing context of one request (gRPC `RouteRequest.context`, or the
// flattened NATS constraints ∪ metadata), seen through a transport-owned map without copying.
// DecisionContext overlays the keys the router sets itself (tenant_id, policy_id,
// message_type; POL §2 "Evaluation context") for condition evaluation.
// Both are views: the underlying map must outlive them. Confined to the calling thread.

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include "policy/condition.h"

namespace router::service {

class RequestContext : public policy::ContextView {
 public:
  virtual size_t Size() const = 0;
  // Calls fn(key, value) for every entry, in the map's own order.
  virtual void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const = 0;
};

// Request context with tenant_id, policy_id and message_type overridden by the router.
class DecisionContext final : public policy::ContextView {
 public:
  DecisionContext(const RequestContext& base, std::string_view tenant_id,
                  std::string_view policy_id, std::string_view message_type)
      : base_(base), tenant_id_(tenant_id), policy_id_(policy_id), message_type_(message_type) {}

  std::optional<std::string_view> Find(std::string_view key) const override {
    if (key == "tenant_id") return tenant_id_;
    if (key == "policy_id") return policy_id_;
    if (key == "message_type") return message_type_;
    return base_.Find(key);
  }

 private:
  const RequestContext& base_;
  std::string_view tenant_id_;
  std::string_view policy_id_;
  std::string_view message_type_;
};

}  // namespace router::service
