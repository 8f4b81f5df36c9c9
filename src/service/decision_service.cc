#include "service/decision_service.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "base/errors.h"
#include "core/decision.h"
#include "service/ids.h"

namespace router::service {
namespace {

constexpr std::string_view kIdPattern = "^[A-Za-z0-9_.-]{1,255}$";

absl::Status InvalidRequest(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, message, tag::kInvalidRequest);
}

bool HasControlChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool ParseNonNegativeInt(std::string_view s, int64_t max, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

// Explanation level requested by context detail_level / explain (grpc-api.md §3.6).
core::ExplainLevel RequestedExplain(const RequestContext& ctx) {
  core::ExplainLevel level = core::ExplainLevel::kNone;
  if (auto d = ctx.Find("detail_level")) {
    if (EqualsIgnoreCase(*d, "verbose")) return core::ExplainLevel::kVerbose;
    if (EqualsIgnoreCase(*d, "detailed")) level = core::ExplainLevel::kDetailed;
  }
  if (level == core::ExplainLevel::kNone) {
    if (auto e = ctx.Find("explain"); e && EqualsIgnoreCase(*e, "true")) {
      level = core::ExplainLevel::kDetailed;
    }
  }
  return level;
}

// One stage of the pipeline: items whose `when` holds and that must run fail the decision,
// the others are recorded as skipped.
absl::Status CheckStage(std::string_view stage, std::string_view tag_name,
                        const std::vector<policy::ExtensionItem>& items,
                        const policy::ContextView& ctx, bool dry_run,
                        std::vector<std::string>* steps) {
  for (const auto& item : items) {
    const bool must_run = item.mode == "required" || item.mode == "block";
    if (dry_run || !item.when.Evaluate(ctx) || !must_run) {
      if (steps) steps->push_back("extension: " + std::string(stage) + " " + item.id + " skipped");
      continue;
    }
    if (steps) steps->push_back("extension: " + std::string(stage) + " " + item.id + " error");
    absl::Status s = MakeError(absl::StatusCode::kUnavailable,
                               "extension \"" + item.id +
                                   "\" unavailable: the extension pipeline is not available in "
                                   "this build",
                               tag_name);
    AddErrorDetail(s, "cause", "extension_unavailable");
    AddErrorDetail(s, "extension_id", item.id);
    AddErrorDetail(s, "executed_extensions", "[]");
    return s;
  }
  return absl::OkStatus();
}

absl::Status CheckExtensions(const policy::CompiledPolicy& policy, const policy::ContextView& ctx,
                             bool dry_run, std::vector<std::string>* steps) {
  if (auto s = CheckStage("pre", "pre_processor_failed", policy.pre, ctx, dry_run, steps);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckStage("validator", "validator_blocked", policy.validators, ctx, dry_run, steps);
      !s.ok()) {
    return s;
  }
  return CheckStage("post", "post_processor_failed", policy.post, ctx, dry_run, steps);
}

}  // namespace

DecisionService::DecisionService(DecisionServiceOptions options, const Clock& clock,
                                 core::SnapshotHolder& snapshots, core::Decider& decider,
                                 Observability observability)
    : options_(std::move(options)),
      clock_(clock),
      snapshots_(snapshots),
      decider_(decider),
      obs_(observability) {}

obs::ExtractedTrace DecisionService::ExtractTrace(const DecideCall& call) const {
  if (call.trace != nullptr) return *call.trace;
  const RequestContext* ctx = call.context;
  return obs::ExtractGrpcTrace(
      call.traceparent, call.tracestate,
      [ctx](std::string_view key) -> std::optional<std::string_view> {
        return ctx != nullptr ? ctx->Find(key) : std::nullopt;
      },
      call.message_trace_id);
}

absl::Status DecisionService::ValidateTenant(std::string_view tenant_id) {
  if (tenant_id.empty()) return InvalidRequest("tenant_id cannot be empty");
  if (!IsValidId(tenant_id)) {
    return InvalidRequest(std::string("tenant_id must match ") + std::string(kIdPattern));
  }
  return absl::OkStatus();
}

absl::Status DecisionService::ValidateContext(const RequestContext& ctx) const {
  if (ctx.Size() > options_.max_context_entries) {
    return InvalidRequest("context: at most " + std::to_string(options_.max_context_entries) +
                          " entries");
  }
  absl::Status status;
  ctx.ForEach([&](std::string_view key, std::string_view value) {
    if (!status.ok()) return;
    if (key.size() > options_.max_context_key_bytes) {
      status = InvalidRequest("context: key exceeds " +
                              std::to_string(options_.max_context_key_bytes) + " bytes");
    } else if (value.size() > options_.max_context_value_bytes) {
      status = InvalidRequest("context." + std::string(key) + ": exceeds " +
                              std::to_string(options_.max_context_value_bytes) + " bytes");
    }
  });
  if (!status.ok()) return status;
  if (auto key = ctx.Find("idempotency_key")) {
    if (key->empty() || key->size() > 256 || HasControlChar(*key)) {
      return InvalidRequest(
          "context.idempotency_key: must be 1-256 bytes without control characters");
    }
  }
  int64_t n = 0;
  if (auto attempt = ctx.Find("attempt"); attempt && !ParseNonNegativeInt(*attempt, 1000, &n)) {
    return InvalidRequest("context.attempt: must be a non-negative integer");
  }
  if (auto deadline = ctx.Find("deadline");
      deadline && !ParseNonNegativeInt(*deadline, INT64_MAX, &n)) {
    return InvalidRequest("context.deadline: must be an epoch-ms integer");
  }
  return absl::OkStatus();
}

void DecisionService::SetRateLimiter(core::RateLimiter* limiter, TenantRateLimits tenant_limits) {
  limiter_ = limiter;
  tenant_limits_ = std::move(tenant_limits);
  obs::RouterMetrics* m = obs_.metrics;
  if (limiter == nullptr || m == nullptr || !m->registry) return;
  rate_allowed_ = m->registry->FindCounter("router_rate_limit_allowed_total");
  rate_exceeded_ = m->registry->FindCounter("router_rate_limit_exceeded_total");
  if (auto* g = m->registry->FindGauge("router_rate_limit_buckets")) {
    for (core::RateScope scope : {core::RateScope::kPolicy, core::RateScope::kTenant}) {
      g->SetCallback({core::RateScopeName(scope)},
                     [limiter, scope] { return static_cast<double>(limiter->Size(scope)); });
    }
  }
  if (auto* c = m->registry->FindCounter("router_rate_limit_evictions_total")) {
    c->SetCallback({}, [limiter] { return static_cast<double>(limiter->evictions()); });
  }
}

core::RateDecision DecisionService::CheckBucket(const core::RateKey& key,
                                                const core::RateLimitParams& params,
                                                bool dry_run) const {
  if (dry_run) return limiter_->Peek(key, params);
  const core::RateDecision d = limiter_->Check(key, params);
  if (obs::CounterFamily* family = d.allowed ? rate_allowed_ : rate_exceeded_) {
    family->Get({core::RateScopeName(key.scope), key.tenant}).Inc();
  }
  return d;
}

bool DecisionService::TenantAllowed(std::string_view tenant_id) const {
  if (options_.tenant_allowlist.empty()) return true;
  return std::find(options_.tenant_allowlist.begin(), options_.tenant_allowlist.end(), tenant_id) !=
         options_.tenant_allowlist.end();
}

DecideOutput DecisionService::Decide(const DecideCall& call) const {
  const obs::ExtractedTrace trace = ExtractTrace(call);
  DecideTelemetry telemetry(obs_, clock_, call.transport, trace);
  RunState run;
  DecideOutput out = Run(call, false, &telemetry, run);
  if (call.defer_ok_outcome && out.status.ok() && !out.replay) {
    out.deferred_outcome = telemetry.DeferOutcome();
  }
  // The terminal outcome is counted and the span ended exactly once (OBS O3). `run` keeps the
  // snapshot, so the result's views into the policy are still valid here.
  telemetry.Finish(out.status, call.tenant_id, run.policy_id,
                   run.policy != nullptr ? static_cast<int64_t>(run.policy->version) : 0,
                   run.selected ? &run.result : nullptr, out.decision_id, call.correlation_id,
                   call.context);
  return out;
}

void DecisionService::CountUndecodable(Transport transport, const absl::Status& status) const {
  obs::ExtractedTrace trace = obs::ExtractGrpcTrace(
      "", "", [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; }, "");
  DecideTelemetry telemetry(obs_, clock_, transport, trace);
  telemetry.Finish(status, "", "", 0, nullptr, "", "");
}

DecideOutput DecisionService::DryRun(const DecideCall& call) const {
  RunState run;
  return Run(call, true, nullptr, run);
}

DecideOutput DecisionService::Run(const DecideCall& call, bool dry_run, DecideTelemetry* telemetry,
                                  RunState& run) const {
  DecideOutput out;
  std::string_view& policy_id = run.policy_id;
  const policy::CompiledPolicy*& policy = run.policy;
  const RequestContext& ctx = *call.context;

  // Step 1: validate.
  if (!call.has_message) {
    out.status = InvalidRequest("missing message");
    return out;
  }
  if (out.status = ValidateTenant(call.tenant_id); !out.status.ok()) return out;
  if (out.status = ValidateContext(ctx); !out.status.ok()) return out;

  // Step 2: resolve policy_id.
  policy_id = call.policy_id;
  if (policy_id.empty()) {
    if (auto p = ctx.Find("policy_id"); p && !p->empty()) policy_id = *p;
  }
  if (policy_id.empty()) policy_id = "default";
  if (!IsValidId(policy_id)) {
    out.status = InvalidRequest(std::string("policy_id must match ") + std::string(kIdPattern));
    return out;
  }

  // Step 3: tenant allowlist.
  if (!TenantAllowed(call.tenant_id)) {
    out.status = MakeError(absl::StatusCode::kPermissionDenied, "tenant not allowed",
                           tag::kTenantNotAllowed);
    return out;
  }

  // Step 4: backpressure (nats-contracts.md §9): refused at once, before the lookup, taking no
  // token. DryRun skips it.
  if (!dry_run && backpressure_ != nullptr && backpressure_->Active()) {
    const int64_t ms = std::max<int64_t>(1, backpressure_->options().retry_after_ms);
    out.status =
        MakeError(absl::StatusCode::kResourceExhausted,
                  "router overloaded; retry after " + std::to_string(ms) + " ms", tag::kOverloaded);
    AddErrorDetail(out.status, "retry_after_ms", std::to_string(ms));
    AddErrorDetail(out.status, "status", "active");
    std::string signals;
    for (const auto& sig : backpressure_->Report().signals_over) {
      signals += (signals.empty() ? "" : ",") + sig;
    }
    AddErrorDetail(out.status, "signals", signals);
    backpressure_->CountRejection(call.transport);
    return out;
  }

  // Step 5: tenant bucket (POL §7; config, off by default). DryRun peeks (POL §3.4).
  std::optional<core::RateDecision> dry_run_limit;
  if (limiter_ != nullptr && tenant_limits_.enabled) {
    core::RateLimitParams params = tenant_limits_.defaults;
    if (auto it = tenant_limits_.overrides.find(call.tenant_id);
        it != tenant_limits_.overrides.end()) {
      params = it->second;
    }
    const core::RateDecision d =
        CheckBucket({core::RateScope::kTenant, call.tenant_id, ""}, params, dry_run);
    if (dry_run) {
      dry_run_limit = d;
    } else if (!d.allowed) {
      out.status = MakeError(
          absl::StatusCode::kResourceExhausted,
          "tenant rate limit exceeded; retry after " + std::to_string(d.retry_after_ms) + " ms",
          tag::kRateLimitExceeded);
      AddErrorDetail(out.status, "retry_after_ms", std::to_string(d.retry_after_ms));
      AddErrorDetail(out.status, "tenant_id", call.tenant_id);
      return out;
    }
  }

  // Step 6: lookup, against one snapshot for the whole decision.
  run.snapshot = snapshots_.Load();
  policy = call.inline_policy;
  if (policy == nullptr) {
    if (const auto* found = run.snapshot->Find(call.tenant_id, policy_id)) policy = found->get();
  }
  if (telemetry != nullptr) {
    telemetry->PolicyLookup(policy_id, policy ? static_cast<int64_t>(policy->version) : 0,
                            policy != nullptr);
  }
  if (policy == nullptr) {
    out.status = MakeError(absl::StatusCode::kNotFound,
                           "policy \"" + std::string(policy_id) + "\" not found for tenant \"" +
                               std::string(call.tenant_id) + "\"",
                           tag::kPolicyNotFound);
    AddErrorDetail(out.status, "tenant_id", call.tenant_id);
    AddErrorDetail(out.status, "policy_id", policy_id);
    return out;
  }

  // Step 7: policy bucket (POL §7). A token taken here or at step 5 is not refunded when a later
  // step fails; idempotent replays take tokens too (grpc-api §3.1). DryRun peeks.
  if (limiter_ != nullptr && policy->rate_limit.enabled) {
    const core::RateDecision d =
        CheckBucket({core::RateScope::kPolicy, call.tenant_id, policy_id},
                    {policy->rate_limit.requests_per_second, policy->rate_limit.burst}, dry_run);
    if (dry_run) {
      if (!dry_run_limit || (dry_run_limit->allowed && !d.allowed) ||
          (!d.allowed && d.retry_after_ms > dry_run_limit->retry_after_ms)) {
        dry_run_limit = d;
      }
    } else if (!d.allowed) {
      out.status = MakeError(absl::StatusCode::kResourceExhausted,
                             "rate limit exceeded for policy \"" + std::string(policy_id) +
                                 "\"; retry after " + std::to_string(d.retry_after_ms) + " ms",
                             tag::kRateLimitExceeded);
      AddErrorDetail(out.status, "retry_after_ms", std::to_string(d.retry_after_ms));
      AddErrorDetail(out.status, "tenant_id", call.tenant_id);
      AddErrorDetail(out.status, "policy_id", policy_id);
      return out;
    }
  }

  // Step 8: idempotency (grpc-api §3.7, NATS §7.1); DryRun never consults it. `slot` abandons
  // on every error return below: only successful decisions are stored.
  std::shared_ptr<IdempotencySlot> slot;
  if (!dry_run && idempotency_ != nullptr) {
    std::string_view key = call.idempotency_key;
    if (key.empty() && call.transport == Transport::kGrpc) {
      if (auto k = ctx.Find("idempotency_key")) key = *k;
    }
    if (!key.empty()) {
      const std::string fingerprint =
          call.idempotency_fingerprint.empty()
              ? GrpcDecideFingerprint(call.tenant_id, policy_id, ctx, call.message_type,
                                      call.message_payload)
              : std::string(call.idempotency_fingerprint);
      IdempotencyAcquire acquired = idempotency_->Acquire(
          IdempotencyKey{call.transport, std::string(call.tenant_id), std::string(key)},
          fingerprint);
      switch (acquired.kind) {
        case IdempotencyAcquire::Kind::kReplay:
          out.replay = std::move(acquired.record);
          out.decision_id = out.replay->decision_id;
          out.policy_version = static_cast<int64_t>(policy->version);
          return out;
        case IdempotencyAcquire::Kind::kMismatch:
          out.status = MakeError(absl::StatusCode::kAlreadyExists,
                                 "idempotency_key reused with a different request",
                                 tag::kIdempotencyKeyReused);
          return out;
        case IdempotencyAcquire::Kind::kInProgress:
          out.status = MakeError(absl::StatusCode::kUnavailable,
                                 "idempotency_key in use by a request still in progress; retry",
                                 tag::kOverloaded);
          return out;
        case IdempotencyAcquire::Kind::kFresh:
          slot = std::make_shared<IdempotencySlot>(std::move(acquired.slot));
          break;
      }
    }
  }

  // Deadline: after step 8, before selection.
  if (auto deadline = ctx.Find("deadline")) {
    int64_t ms = 0;
    ParseNonNegativeInt(*deadline, INT64_MAX, &ms);
    if (ms <= clock_.WallMs()) {
      out.status = MakeError(absl::StatusCode::kDeadlineExceeded, "deadline exceeded",
                             tag::kDeadlineExceeded);
      return out;
    }
  }

  DecisionContext eval_ctx(ctx, call.tenant_id, policy_id, call.message_type);
  const core::ExplainLevel explain = dry_run && RequestedExplain(ctx) == core::ExplainLevel::kNone
                                         ? core::ExplainLevel::kDetailed
                                         : RequestedExplain(ctx);

  // Steps 9 and 11: the extension pipeline is not available in this build (POL §9: required
  // and block items fail with extension_unavailable, other items are skipped). Post items are
  // checked before selection so that a decision that must fail never writes a pin.
  std::vector<std::string> extension_steps;
  if (dry_run_limit && explain != core::ExplainLevel::kNone) {
    // POL §3.3: `dry_run: rate limit would <allow|reject, retry after <ms> ms>`, right after
    // the `policy:` line (steps 5 and 7 precede the pre-stage).
    extension_steps.push_back(dry_run_limit->allowed
                                  ? std::string("dry_run: rate limit would allow")
                                  : "dry_run: rate limit would reject, retry after " +
                                        std::to_string(dry_run_limit->retry_after_ms) + " ms");
  }
  if (auto s = CheckExtensions(*policy, eval_ctx, dry_run,
                               explain != core::ExplainLevel::kNone ? &extension_steps : nullptr);
      !s.ok()) {
    out.status = std::move(s);
    out.has_explanation = explain != core::ExplainLevel::kNone;
    if (out.has_explanation) {
      const char* strategy =
          policy->selection.strategy == policy::Strategy::kLeastLatency ? "least_latency"
          : policy->selection.strategy == policy::Strategy::kLowestCost ? "lowest_cost"
                                                                        : "weighted";
      out.steps.push_back("policy: " + std::string(call.tenant_id) + "/" + std::string(policy_id) +
                          " v" + std::to_string(policy->version) + ", strategy " + strategy);
      out.steps.insert(out.steps.end(), extension_steps.begin(), extension_steps.end());
    }
    AddErrorDetail(out.status, "tenant_id", call.tenant_id);
    AddErrorDetail(out.status, "policy_id", policy_id);
    return out;
  }

  // Step 10: selection.
  core::DecideRequest req;
  req.policy = policy;
  req.context = &eval_ctx;
  req.explain = explain;
  req.dry_run = dry_run;
  run.result = decider_.Decide(req);
  core::DecideResult& result = run.result;
  if (telemetry != nullptr) telemetry->Selection(result);

  out.has_explanation = req.explain != core::ExplainLevel::kNone;
  if (out.has_explanation) {
    // Chronological order: the decider's `policy:` line, pre-processors and validators,
    // selection, then post-processors.
    out.steps = std::move(result.steps);
    auto post_begin =
        std::find_if(extension_steps.begin(), extension_steps.end(),
                     [](const std::string& st) { return st.rfind("extension: post ", 0) == 0; });
    const size_t at = out.steps.empty() ? 0 : 1;
    out.steps.insert(out.steps.begin() + static_cast<std::ptrdiff_t>(at), extension_steps.begin(),
                     post_begin);
    out.steps.insert(out.steps.end(), post_begin, extension_steps.end());
    for (size_t i = 0; i < result.excluded_count; ++i) {
      out.excluded.emplace_back(std::string(result.excluded[i].provider),
                                std::string(core::ExclusionName(result.excluded[i].reason)));
    }
  }
  if (!result.status.ok()) {
    out.status = std::move(result.status);
    AddErrorDetail(out.status, "tenant_id", call.tenant_id);
    AddErrorDetail(out.status, "policy_id", policy_id);
    return out;
  }

  // Steps 12-13: respond. Side effects (pins, probe slots) were committed by the decider.
  out.provider_id = std::string(result.provider);
  out.reason = std::string(core::ReasonName(result.reason));
  out.priority = core::ReasonPriority(result.reason);
  out.expected_latency_ms = result.expected_latency_ms;
  out.expected_cost = result.expected_cost;
  out.policy_version = static_cast<int64_t>(policy->version);
  out.decision_id = NewUuidV4();
  out.trace_id =
      telemetry != nullptr ? telemetry->TraceIdHex() : ExtractTrace(call).context.trace_id.ToHex();
  run.selected = true;

  out.metadata.reserve(ctx.Size() + 10);
  ctx.ForEach([&](std::string_view k, std::string_view v) {
    out.metadata.emplace_back(std::string(k), std::string(v));
  });
  out.metadata.emplace_back("tenant_id", std::string(call.tenant_id));
  out.metadata.emplace_back("policy_id", std::string(policy_id));
  out.metadata.emplace_back("policy_version", std::to_string(out.policy_version));
  out.metadata.emplace_back("decision_id", out.decision_id);
  out.metadata.emplace_back("trace_id", out.trace_id);
  if (!call.correlation_id.empty() && call.correlation_id.size() <= 256) {
    out.metadata.emplace_back("correlation_id", std::string(call.correlation_id));
  }
  if (result.from_failure_path) {
    if (result.reason == core::Reason::kRetry) {
      out.metadata.emplace_back("retry_attempt", std::to_string(result.retry_attempt));
      out.metadata.emplace_back("retry_max", std::to_string(result.retry_max));
      out.metadata.emplace_back("backoff_ms", std::to_string(result.backoff_ms));
    }
    out.metadata.emplace_back("fallback_rule", std::to_string(result.fallback_rule));
  }
  out.idempotency = std::move(slot);
  return out;
}

}  // namespace router::service
