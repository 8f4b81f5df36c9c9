#include "grpc/admin_grpc_service.h"

#include <exception>

#include "base/errors.h"
#include "grpc/proto_codec.h"
#include "grpc/router_service.h"
#include "grpc/status_mapping.h"
#include "policy/policy_compiler.h"
#include "store/policy_store.h"

namespace router::grpc_adapter {
namespace {

absl::Status Invalid(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, message, tag::kInvalidRequest);
}

absl::Status Undecodable(std::string_view request_name) {
  return Invalid("invalid " + std::string(request_name));
}

absl::Status Required(std::string_view request_name, std::string_view field) {
  return Invalid("invalid " + std::string(request_name) + ": " + std::string(field) +
                 " is required");
}

std::string_view AuthFailureReason(config::AuthFailure f) {
  switch (f) {
    case config::AuthFailure::kDisabled:
      return "disabled";
    case config::AuthFailure::kMissing:
      return "missing";
    default:
      return "invalid";
  }
}

}  // namespace

// An authenticated admin call: the principal and who to record in the audit log.
struct AdminCall {
  const config::Principal* principal = nullptr;
  service::AdminCaller audit;
};

namespace {
using Caller = AdminCall;
}  // namespace

absl::StatusOr<AdminCall> AdminGrpcService::Authenticate(const Ctx& ctx) const {
  config::AuthFailure failure = config::AuthFailure::kNone;
  auto principal = auth_.Authenticate(HeaderValues(ctx, "x-api-key"),
                                      HeaderValues(ctx, "authorization"), &failure);
  if (!principal.ok()) {
    if (metrics_ != nullptr) metrics_->admin_auth_failures->Get({AuthFailureReason(failure)}).Inc();
    return principal.status();
  }
  AdminCall caller;
  caller.principal = *principal;
  caller.audit.principal = (*principal)->name;
  caller.audit.claimed_user = config::ClaimedUser(HeaderValues(ctx, "x-user-id"));
  caller.audit.correlation_id = CorrelationId(ctx);
  caller.audit.client_addr = ctx.peer();
  return caller;
}

namespace {

void ToAdminPolicy(const service::PolicyOutput& out, fv1::AdminPolicy* p) {
  p->set_policy_id(out.policy_id);
  for (const auto& prov : out.legacy.providers) {
    auto* ap = p->add_providers();
    ap->set_id(prov.id);
    ap->set_weight(prov.weight);
  }
  p->set_sticky(out.legacy.sticky);
  for (const auto& rule : out.legacy.rules) {
    auto* ar = p->add_rules();
    ar->set_match(rule.match);
    ar->set_fallback(rule.fallback);
  }
  p->set_policy_json(out.policy_json);
  p->set_version(out.version);
}

service::PolicyInput FromAdminPolicy(const fv1::AdminPolicy& p) {
  service::PolicyInput in;
  in.policy_id = p.policy_id();
  in.policy_json = p.policy_json();
  in.expected_version = p.version();
  for (const auto& prov : p.providers()) in.legacy.providers.push_back({prov.id(), prov.weight()});
  in.legacy.sticky = p.sticky();
  for (const auto& rule : p.rules()) {
    policy::LegacyRule r;
    r.match = rule.match();
    r.prefer.assign(rule.prefer().begin(), rule.prefer().end());
    r.fallback = rule.fallback();
    in.legacy.rules.push_back(std::move(r));
  }
  return in;
}

void ToBreakerState(const service::BreakerStateOutput& in, fv1::CircuitBreakerState* out) {
  const core::BreakerSnapshot& b = in.entry.snapshot;
  out->set_tenant_id(in.entry.tenant);
  out->set_provider_id(in.entry.provider);
  out->set_state(std::string(core::BreakerStateLabel(b.state)));
  out->set_state_changed_at_ms(b.state_changed_at_wall_ms);
  out->set_consecutive_failures(b.consecutive_failures);
  out->set_half_open_successes(b.half_open_successes);
  out->set_half_open_in_flight(b.half_open_in_flight);
  out->set_error_rate(b.error_rate);
  out->set_window_requests(b.window_requests);
  out->set_window_failures(b.window_failures);
  out->set_open_remaining_ms(b.open_remaining_ms);
  out->set_last_trigger_reason(std::string(core::TriggerReasonName(b.last_trigger)));
  out->set_observed_latency_ms(in.observed_latency_ms);
  out->set_observed_cost(in.observed_cost);
  out->set_forced_open(b.forced_open);
}

}  // namespace

AdminGrpcService::AdminGrpcService(AdminGrpcOptions options, const config::AdminAuthenticator& auth,
                                   service::AdminService& admin,
                                   service::DecisionService& decisions,
                                   const service::Readiness& readiness, const Clock& clock,
                                   obs::RouterMetrics* metrics)
    : options_(std::move(options)),
      auth_(auth),
      admin_(admin),
      decisions_(decisions),
      readiness_(readiness),
      clock_(clock),
      metrics_(metrics) {}

template <typename Fn>
AdminGrpcService::Reactor* AdminGrpcService::Handle(Ctx* ctx, std::string_view method, Fn&& body) {
  const MonoTime started = clock_.MonoNow();
  auto* reactor = ctx->DefaultReactor();
  absl::Status status;
  try {
    status = body();
  } catch (const std::exception&) {
    status = absl::InternalError("exception in admin handler");
  }
  if (status.ok()) {
    reactor->Finish(::grpc::Status::OK);
  } else if (status.code() == absl::StatusCode::kUnimplemented) {
    reactor->Finish(
        ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, std::string(StdView(status.message()))));
  } else {
    reactor->Finish(ToGrpcStatus(status, ctx));
  }
  if (metrics_ != nullptr) {
    metrics_->admin_request_duration->Get({method}).Observe(
        std::chrono::duration<double>(clock_.MonoNow() - started).count());
  }
  return reactor;
}

AdminGrpcService::Reactor* AdminGrpcService::UpsertPolicy(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "UpsertPolicy", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    const auto action = store::audit_action::kUpsert;
    fv1::UpsertPolicyRequest r;
    if (!DecodeRequest(req, &r)) {
      auto s = Undecodable("UpsertPolicyRequest");
      admin_.AuditRejected(caller->audit, "", action, "", s);
      return s;
    }
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    absl::Status s;
    if (!r.has_policy()) {
      s = Required("UpsertPolicyRequest", "policy");
    } else if (!tenant.ok()) {
      s = tenant.status();
    } else {
      s = service::AdminService::ValidatePolicyId(r.policy().policy_id());
    }
    std::string tenant_id = tenant.ok() ? *tenant : std::string(r.tenant_id());
    if (s.ok())
      s = config::CheckPermission(*caller->principal, tenant_id, config::Permission::kWrite);
    if (!s.ok()) {
      admin_.AuditRejected(caller->audit, tenant_id, action, r.policy().policy_id(), s);
      return s;
    }
    auto version = admin_.Upsert(caller->audit, tenant_id, FromAdminPolicy(r.policy()));
    if (!version.ok()) return version.status();
    fv1::UpsertPolicyResponse out;
    out.set_ok(true);
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::DeletePolicy(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "DeletePolicy", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    const auto action = store::audit_action::kDelete;
    fv1::DeletePolicyRequest r;
    if (!DecodeRequest(req, &r)) {
      auto s = Undecodable("DeletePolicyRequest");
      admin_.AuditRejected(caller->audit, "", action, "", s);
      return s;
    }
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    absl::Status s;
    if (r.policy_id().empty()) {
      s = Required("DeletePolicyRequest", "policy_id");
    } else if (!tenant.ok()) {
      s = tenant.status();
    }
    std::string tenant_id = tenant.ok() ? *tenant : std::string(r.tenant_id());
    if (s.ok()) {
      s = config::CheckPermission(*caller->principal, tenant_id, config::Permission::kDelete);
    }
    if (!s.ok()) {
      admin_.AuditRejected(caller->audit, tenant_id, action, r.policy_id(), s);
      return s;
    }
    if (auto d = admin_.Delete(caller->audit, tenant_id, r.policy_id()); !d.ok()) return d;
    fv1::DeletePolicyResponse out;
    out.set_ok(true);
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::GetPolicy(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "GetPolicy", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::GetPolicyRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("GetPolicyRequest");
    if (r.policy_id().empty()) return Required("GetPolicyRequest", "policy_id");
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    if (!tenant.ok()) return tenant.status();
    if (auto s = config::CheckPermission(*caller->principal, *tenant, config::Permission::kRead);
        !s.ok()) {
      return s;
    }
    auto policy = admin_.Get(*tenant, r.policy_id());
    if (!policy.ok()) return policy.status();
    fv1::GetPolicyResponse out;
    ToAdminPolicy(*policy, out.mutable_policy());
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::ListPolicies(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "ListPolicies", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::ListPoliciesRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("ListPoliciesRequest");
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    if (!tenant.ok()) return tenant.status();
    if (auto s = config::CheckPermission(*caller->principal, *tenant, config::Permission::kRead);
        !s.ok()) {
      return s;
    }
    auto policies = admin_.List(*tenant);
    if (!policies.ok()) return policies.status();
    fv1::ListPoliciesResponse out;
    for (const auto& p : *policies) ToAdminPolicy(p, out.add_policies());
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::GetCheckpointStatus(Ctx* ctx, const Buf* req,
                                                                 Buf* resp) {
  return Handle(ctx, "GetCheckpointStatus", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::GetCheckpointStatusRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("GetCheckpointStatusRequest");
    fv1::GetCheckpointStatusResponse out;
    out.mutable_status()->set_current_cp(options_.current_cp);
    out.mutable_status()->set_cp2_plus_allowed(options_.cp2_plus_allowed);
    out.mutable_status()->set_updated_at_ms(options_.updated_at_ms);
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::GetValidatorsHealth(Ctx* ctx, const Buf* req,
                                                                 Buf* resp) {
  return Handle(ctx, "GetValidatorsHealth", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::GetValidatorsHealthRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("GetValidatorsHealthRequest");
    const int64_t now = clock_.WallMs();
    fv1::GetValidatorsHealthResponse out;
    auto* grpc_health = out.add_validators();
    grpc_health->set_name("grpc_health");
    grpc_health->set_status("serving");
    grpc_health->set_timestamp_ms(now);
    for (const auto& check : readiness_.Checks()) {
      auto* v = out.add_validators();
      v->set_name(check.name);
      v->set_status(check.ok ? "serving" : "not_serving");
      v->set_timestamp_ms(now);
      v->set_details(check.message);
    }
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::DryRun(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "DryRun", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::DryRunRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("DryRunRequest");
    if (!r.has_request()) return Required("DryRunRequest", "request");
    if (!r.request().has_message()) return Required("DryRunRequest", "request.message");
    const std::string& tenant = r.request().message().tenant_id();
    if (auto s = service::DecisionService::ValidateTenant(tenant); !s.ok()) return s;
    if (auto s = config::CheckPermission(*caller->principal, tenant, config::Permission::kRead);
        !s.ok()) {
      return s;
    }
    policy::CompiledPolicyPtr inline_policy;
    if (!r.policy_json().empty()) {
      std::string policy_id = r.request().policy_id();
      if (policy_id.empty()) {
        auto it = r.request().context().find("policy_id");
        if (it != r.request().context().end()) policy_id = it->second;
      }
      if (policy_id.empty()) policy_id = "default";
      auto compiled = policy::CompilePolicy(r.policy_json(), tenant, policy_id);
      if (!compiled.ok()) return compiled.status();
      inline_policy = *compiled;
    }
    ProtoMapContext context(r.request().context());
    std::string correlation = CorrelationId(*ctx);
    std::string traceparent = FirstHeader(*ctx, "traceparent");
    service::DecideCall call;
    call.has_message = true;
    call.tenant_id = tenant;
    call.policy_id = r.request().policy_id();
    call.message_type = r.request().message().message_type();
    call.message_trace_id = r.request().message().trace_id();
    call.context = &context;
    call.correlation_id = correlation;
    call.traceparent = traceparent;
    call.inline_policy = inline_policy.get();
    service::DecideOutput result = decisions_.DryRun(call);

    fv1::DryRunResponse out;
    FillExplanation(result, out.mutable_explanation());
    if (result.status.ok()) {
      FillRouteDecision(result, /*with_explanation=*/false, out.mutable_decision());
    } else {
      out.set_status_code(static_cast<int>(result.status.code()));
      out.set_status_message(std::string(StdView(result.status.message())));
    }
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::GetCircuitBreakerStates(Ctx* ctx, const Buf* req,
                                                                     Buf* resp) {
  return Handle(ctx, "GetCircuitBreakerStates", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::GetCircuitBreakerStatesRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("GetCircuitBreakerStatesRequest");
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    if (!tenant.ok()) return tenant.status();
    if (auto s = config::CheckPermission(*caller->principal, *tenant, config::Permission::kRead);
        !s.ok()) {
      return s;
    }
    auto states = admin_.GetBreakerStates(*tenant, r.provider_id());
    if (!states.ok()) return states.status();
    fv1::GetCircuitBreakerStatesResponse out;
    for (const auto& state : *states) ToBreakerState(state, out.add_states());
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::ResetCircuitBreaker(Ctx* ctx, const Buf* req,
                                                                 Buf* resp) {
  return Handle(ctx, "ResetCircuitBreaker", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::ResetCircuitBreakerRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("ResetCircuitBreakerRequest");
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    absl::Status s;
    absl::StatusOr<core::BreakerTarget> target =
        service::AdminService::ParseBreakerTarget(r.target_state());
    if (!tenant.ok()) {
      s = tenant.status();
    } else if (r.provider_id().empty()) {
      s = Required("ResetCircuitBreakerRequest", "provider_id");
    } else if (!target.ok()) {
      s = target.status();
    }
    const std::string tenant_id = tenant.ok() ? *tenant : std::string(r.tenant_id());
    if (s.ok()) {
      s = config::CheckPermission(*caller->principal, tenant_id, config::Permission::kWrite);
    }
    if (!s.ok()) {
      admin_.AuditBreakerRejected(caller->audit, tenant_id, r.provider_id(), r.target_state(), s);
      return s;
    }
    auto state = admin_.ResetBreaker(caller->audit, tenant_id, r.provider_id(), *target);
    if (!state.ok()) return state.status();
    fv1::ResetCircuitBreakerResponse out;
    out.set_ok(true);
    ToBreakerState(*state, out.mutable_state());
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

AdminGrpcService::Reactor* AdminGrpcService::GetAssignment(Ctx* ctx, const Buf* req, Buf* resp) {
  return Handle(ctx, "GetAssignment", [&]() -> absl::Status {
    auto caller = Authenticate(*ctx);
    if (!caller.ok()) return caller.status();
    fv1::GetAssignmentRequest r;
    if (!DecodeRequest(req, &r)) return Undecodable("GetAssignmentRequest");
    auto tenant = config::ResolveTenant(r.tenant_id(), HeaderValues(*ctx, "x-tenant-id"));
    if (!tenant.ok()) return tenant.status();
    if (r.assignment_id().empty() && r.request_id().empty()) {
      return Invalid("invalid GetAssignmentRequest: assignment_id or request_id is required");
    }
    if (auto s = config::CheckPermission(*caller->principal, *tenant, config::Permission::kRead);
        !s.ok()) {
      return s;
    }
    // grpc-api.md §9: local record, else S10; FAILED_PRECONDITION without NATS.
    auto record = admin_.GetAssignment(*tenant, r.assignment_id(), r.request_id());
    if (!record.ok()) return record.status();
    fv1::GetAssignmentResponse out;
    ToAssignment(*record, out.mutable_assignment());
    EncodeResponse(out, resp);
    return absl::OkStatus();
  });
}

void ToAssignment(const service::AssignmentRecord& r, fv1::Assignment* a) {
  a->set_assignment_id(r.assignment_id);
  a->set_request_id(r.request_id);
  a->set_trace_id(r.trace_id);
  a->set_tenant_id(r.tenant_id);
  a->set_policy_id(r.policy_id);
  a->set_provider_id(r.provider_id);
  a->set_decision_id(r.decision_id);
  a->set_state(std::string(service::AssignmentStateName(r.state)));
  a->set_ack_status(r.ack_status);
  a->set_ack_message(r.ack_message);
  a->set_result_status(r.result_status);
  a->set_latency_ms(r.latency_ms);
  a->set_cost(r.cost);
  a->set_error_code(r.error_code);
  a->set_subject(r.subject);
  a->set_created_at_ms(r.created_at_ms);
  a->set_published_at_ms(r.published_at_ms);
  a->set_acked_at_ms(r.acked_at_ms);
  a->set_completed_at_ms(r.completed_at_ms);
  a->set_publish_fate(r.publish_fate);
  a->set_stream_seq(r.stream_seq);
}

}  // namespace router::grpc_adapter
