#pragma once
// DecideProcessor: the NATS decide flow of nats-contracts.md §5 for one message, without any
// NATS I/O, so it is unit-testable: intake rules 1-16 (decide_request.h), the shared
// DecisionService (policy resolution, invalid_context, tenant allowlist = rule 17, lookup,
// deadline, selection: the code gRPC Decide runs), the assignment step and the reply JSON.
// The transport glue (decide_handler.h) receives the message, calls Process() and publishes
// the reply and, when asked, the DLQ envelope.
//
// Not in this build (issue #4 follow-ups): rule 18 / idempotent replay (§7.1), the outbox and
// ExecAssignment publishing (§5.1, §6.2). A pushing decide whose assignment would be published
// is answered `unavailable` "Assignment publishing is not available in this build" after the
// decision (where §5 step 11 would hand it to the outbox); `disabled` and `tenant_blocked`
// pushes are answered `ok` as §5 step 11 says. Backpressure and rate limits live in
// DecisionService (issue #5) and map to `overloaded` / `rate_limited` when they arrive.
//
// Thread-safety: Process() is const and thread-safe given one Worker per thread; a Worker
// holds the per-thread parser and buffers (thread-compatible). Warm workers do not allocate
// for intake or reply encoding (DecisionService output strings aside).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "nats/decide_request.h"
#include "nats/flat_context.h"
#include "nats/nats_stats.h"
#include "obs/tracing/trace_extraction.h"
#include "service/decision_service.h"

namespace router::nats_adapter {

struct DecideProcessorOptions {
  std::string decide_subject = "beamline.router.v1.decide";
  IntakeOptions intake;
  bool assignments_enabled = true;                      // nats.assignments.enabled
  bool jetstream_enabled = true;                        // nats.jetstream.enabled
  std::vector<std::string> assignment_allowed_tenants;  // [] = every tenant may push
  int64_t publish_timeout_ms = 2000;                    // retry hint of `unavailable`
  bool dlq_enabled = true;                              // nats.dlq.enabled
  std::string node_id;

  static DecideProcessorOptions FromConfig(const config::Config& config);
};

// One received decide. Views valid for the call.
struct DecideMessage {
  std::string_view subject;
  std::string_view body;
  DecideHeaders headers;
  int64_t received_at_ms = 0;
};

struct DecideOutcome {
  bool ok = false;         // DecideResponse (true) or ErrorResponse
  std::string_view reply;  // JSON, in the worker's buffer until its next Process()
  bool dlq = false;        // an envelope A is due (§4.3), see BuildDlqEnvelope()
};

class DecideProcessor {
 public:
  // Per-thread state: parser, flattened context, reply and envelope buffers.
  class Worker {
   public:
    explicit Worker(const IntakeOptions& options) : parser_(options) {}

   private:
    friend class DecideProcessor;
    DecideRequestParser parser_;
    FlatContext context_;
    DecideRequest request_;
    absl::Status intake_status_;  // the intake error of the last Process(), for the envelope
    obs::ExtractedTrace trace_;
    std::string reply_;
    std::string envelope_;
  };

  // `decisions` and `stats` must outlive the processor.
  DecideProcessor(DecideProcessorOptions options, const service::DecisionService& decisions,
                  NatsStats& stats);

  std::unique_ptr<Worker> NewWorker() const;

  // Runs §5 steps 2-13 for `message` and encodes the reply. Never fails: every problem becomes
  // an ErrorResponse. REQUIRES: `worker` is used by one thread at a time.
  DecideOutcome Process(const DecideMessage& message, Worker& worker) const;

  // Envelope A for the last Process() on `worker` that returned dlq = true (same message).
  std::string_view BuildDlqEnvelope(const DecideMessage& message, Worker& worker) const;

  // The ErrorResponse for a failure outside Process() (e.g. an exception): `internal`.
  static std::string InternalErrorReply();

  const DecideProcessorOptions& options() const { return options_; }

 private:
  void ResolveTraceId(const DecideMessage& message, Worker& worker) const;
  absl::Status AdaptServiceError(const absl::Status& status, const FlatContext& context) const;

  const DecideProcessorOptions options_;
  const service::DecisionService& decisions_;
  NatsStats& stats_;
};

}  // namespace router::nats_adapter
