#pragma once
// DecideProcessor: the NATS decide flow of nats-contracts.md §5 for one message, without any
// NATS I/O, so it is unit-testable: intake rules 1-16 (decide_request.h), the shared
// DecisionService (policy resolution, invalid_context, tenant allowlist = rule 17, lookup,
// deadline, selection: the code gRPC Decide runs), the assignment step and the reply JSON.
// The transport glue (decide_handler.h) receives the message, calls Process() and publishes
// the reply and, when asked, the DLQ envelope.
//
// Pushing decides (§5 steps 6, 11-13; §5.1): with an outbox set (SetAssignmentOutbox) a slot
// is reserved before the decision (none free -> `overloaded` / `outbox_full`), the
// ExecAssignment is built (exec_assignment.h) and handed to the outbox; `immediate` mode
// answers `pending` at once, `after_publish` parks the reply with the entry and the outbox
// sends it through DecideMessage::send_later (outcome.deferred = true). Without an outbox a
// push that would be published is answered `unavailable` "Assignment publishing is not
// available in this build". Idempotency (§5 step 9, §7.1) and the correlation record (§7.2)
// run when the stores are set (SetAssignmentStores).
//
// Thread-safety: Process() is const and thread-safe given one Worker per thread; a Worker
// holds the per-thread parser and buffers (thread-compatible). Warm workers do not allocate
// for intake or reply encoding (DecisionService output strings aside).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "nats/assignment_outbox.h"
#include "nats/decide_request.h"
#include "nats/exec_assignment.h"
#include "nats/flat_context.h"
#include "nats/nats_stats.h"
#include "obs/metrics/family.h"
#include "obs/tracing/trace_extraction.h"
#include "service/correlation_store.h"
#include "service/decision_service.h"
#include "service/idempotency_store.h"

namespace router::nats_adapter {

struct DecideProcessorOptions {
  std::string decide_subject = "beamline.router.v1.decide";
  IntakeOptions intake;
  bool assignments_enabled = true;                      // nats.assignments.enabled
  bool jetstream_enabled = true;                        // nats.jetstream.enabled
  std::vector<std::string> assignment_allowed_tenants;  // [] = every tenant may push
  int64_t publish_timeout_ms = 2000;                    // retry hint of `unavailable`
  bool reply_immediate = false;                         // nats.assignments.reply_mode
  AssignmentDeadlineOptions deadline;                   // nats.assignments.deadline_*
  int64_t outbox_full_retry_after_ms = 1000;            // backpressure.retry_after_ms
  int64_t max_payload_bytes = 1048576;                  // until the server's is known
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
  // after_publish mode: sends a reply later (called once, from any thread). Empty = none.
  std::function<void(std::string_view reply)> send_later;
};

struct DecideOutcome {
  bool ok = false;         // DecideResponse (true) or ErrorResponse
  std::string_view reply;  // JSON, in the worker's buffer until its next Process()
  bool dlq = false;        // an envelope A is due (§4.3), see BuildDlqEnvelope()
  bool deferred = false;   // the reply is parked with its outbox entry (send_later sends it)
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
    std::string assignment_;  // serialized ExecAssignment
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

  // Wiring (before the first Process(); each must outlive the processor; null = off).
  // `max_payload` returns the server's max payload (0 = unknown).
  void SetAssignmentOutbox(AssignmentOutbox* outbox, std::function<int64_t()> max_payload) {
    outbox_ = outbox;
    max_payload_ = std::move(max_payload);
  }
  void SetAssignmentStores(service::IdempotencyStore* idempotency,
                           service::CorrelationStore* correlation) {
    idempotency_ = idempotency;
    correlation_ = correlation;
  }
  // router_intake_payload_bytes{source="decide"}: every decide body's size (null = off).
  void SetPayloadHistogram(obs::HistogramFamily* payload_bytes) { payload_bytes_ = payload_bytes; }

 private:
  void ResolveTraceId(const DecideMessage& message, Worker& worker) const;
  absl::Status AdaptServiceError(const absl::Status& status, const FlatContext& context) const;

  // §5 steps 11-13 for a decide whose assignment is published (slot reserved).
  DecideOutcome PushAssignment(const DecideMessage& message, Worker& w,
                               const service::DecideOutput& decision, AssignmentOutbox::Slot slot,
                               service::IdempotencySlot* idempotency) const;
  // §7.1 replay of a stored record (`slot` released unless a publish_failed entry re-enqueues).
  DecideOutcome Replay(const DecideMessage& message, Worker& w,
                       const service::IdempotencyRecord& record, AssignmentOutbox::Slot slot) const;
  Waiter MakeWaiter(const DecideMessage& message, const Worker& w, std::string ok_reply,
                    std::string assignment_id,
                    std::shared_ptr<service::DeferredDecideOutcome> decide_outcome = nullptr) const;

  const DecideProcessorOptions options_;
  const service::DecisionService& decisions_;
  NatsStats& stats_;
  AssignmentOutbox* outbox_ = nullptr;
  std::function<int64_t()> max_payload_;
  service::IdempotencyStore* idempotency_ = nullptr;
  service::CorrelationStore* correlation_ = nullptr;
  obs::HistogramFamily* payload_bytes_ = nullptr;
};

}  // namespace router::nats_adapter
