#pragma once
// AdminGrpcService: the `beamline.flow.v1.RouterAdmin` adapter (grpc-api.md §5-§10). Every
// method is a raw callback method so the check order of §5.2 holds exactly: authenticate from
// headers before decoding, then decode and required fields, effective tenant, RBAC, and only
// then the service call. Admin writes block on SQLite (fsync); admin traffic is low, so they
// run on the callback thread. Thread-safe; references must outlive the server.

#include <cstdint>
#include <string>

#include "beamline/flow/v1/flow.grpc.pb.h"
#include "config/admin_auth.h"
#include "obs/metrics/router_metrics.h"
#include "service/admin_service.h"
#include "service/decision_service.h"
#include "service/readiness.h"

namespace router::grpc_adapter {

namespace fv1 = beamline::flow::v1;

using RawAdminBase = fv1::RouterAdmin::WithRawCallbackMethod_UpsertPolicy<
    fv1::RouterAdmin::WithRawCallbackMethod_DeletePolicy<
        fv1::RouterAdmin::WithRawCallbackMethod_GetPolicy<
            fv1::RouterAdmin::WithRawCallbackMethod_ListPolicies<
                fv1::RouterAdmin::WithRawCallbackMethod_GetCheckpointStatus<
                    fv1::RouterAdmin::WithRawCallbackMethod_GetValidatorsHealth<
                        fv1::RouterAdmin::WithRawCallbackMethod_DryRun<
                            fv1::RouterAdmin::WithRawCallbackMethod_GetCircuitBreakerStates<
                                fv1::RouterAdmin::WithRawCallbackMethod_ResetCircuitBreaker<
                                    fv1::RouterAdmin::WithRawCallbackMethod_GetAssignment<
                                        fv1::RouterAdmin::Service>>>>>>>>>>;

struct AdminCall;  // an authenticated call (admin_grpc_service.cc)

struct AdminGrpcOptions {
  std::string current_cp = "CP2-baseline";
  bool cp2_plus_allowed = true;
  int64_t updated_at_ms = 0;  // process start / config load
};

class AdminGrpcService final : public RawAdminBase {
 public:
  AdminGrpcService(AdminGrpcOptions options, const config::AdminAuthenticator& auth,
                   service::AdminService& admin, service::DecisionService& decisions,
                   const service::Readiness& readiness, const Clock& clock,
                   obs::RouterMetrics* metrics = nullptr);

  using Reactor = ::grpc::ServerUnaryReactor;
  using Ctx = ::grpc::CallbackServerContext;
  using Buf = ::grpc::ByteBuffer;

  Reactor* UpsertPolicy(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* DeletePolicy(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* GetPolicy(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* ListPolicies(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* GetCheckpointStatus(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* GetValidatorsHealth(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* DryRun(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* GetCircuitBreakerStates(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* ResetCircuitBreaker(Ctx* ctx, const Buf* req, Buf* resp) override;
  Reactor* GetAssignment(Ctx* ctx, const Buf* req, Buf* resp) override;

 private:
  // Runs `body` inside the noexcept boundary and finishes the reactor with its status.
  template <typename Fn>
  Reactor* Handle(Ctx* ctx, std::string_view method, Fn&& body);
  // §5.1 plus the caller identity for audit; counts router_admin_auth_failures_total.
  absl::StatusOr<AdminCall> Authenticate(const Ctx& ctx) const;

  const AdminGrpcOptions options_;
  const config::AdminAuthenticator& auth_;
  service::AdminService& admin_;
  service::DecisionService& decisions_;
  const service::Readiness& readiness_;
  const Clock& clock_;
  obs::RouterMetrics* const metrics_;
};

// Fills a proto Assignment from a correlation record (GetAssignment).
void ToAssignment(const service::AssignmentRecord& record, fv1::Assignment* assignment);

}  // namespace router::grpc_adapter
