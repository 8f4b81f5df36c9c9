// DecideProcessor with an AssignmentOutbox over a fake sender (no NATS): nats-contracts.md §5
// steps 6, 9, 11-13 and §5.1 reply modes; §7.1 replay and re-enqueue of publish_failed.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/decider.h"
#include "core/provider_health.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "nats/assignment_outbox.h"
#include "nats/decide_processor.h"
#include "nats_test_util.h"
#include "obs/metrics/router_metrics.h"
#include "policy/policy_compiler.h"
#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

using testutil::Json;

class RecordingSender : public OutboxSender {
 public:
  std::optional<PublishError> Send(uint64_t token, const OutboxMessage& m) override {
    sent.push_back({token, m.assignment_id, m.body});
    return std::nullopt;
  }
  struct Sent {
    uint64_t token;
    std::string id;
    std::string body;
  };
  std::vector<Sent> sent;
};

class DecidePushTest : public ::testing::Test {
 protected:
  DecidePushTest() {
    auto compiled = policy::CompilePolicy(
        R"({"version":"1.0","providers":[{"name":"p1","weight":100,"expected_latency_ms":2000}]})",
        "acme", "default");
    EXPECT_TRUE(compiled.ok());
    auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
    copy->version = 7;
    snapshots_.Publish(core::WithUpsert(snapshots_.Load(), copy));
    service_ = std::make_unique<service::DecisionService>(service::DecisionServiceOptions{}, clock_,
                                                          snapshots_, decider_);
  }
  void Build(bool immediate, size_t capacity = 10) {
    OutboxOptions o;
    o.capacity = capacity;
    o.immediate = immediate;
    o.publish_timeout_ms = 500;
    OutboxHooks hooks;
    hooks.on_fate = [this](const FateEvent& ev) {
      if (IsStored(ev.fate)) {
        correlation_.MarkPublished(ev.assignment_id, static_cast<int64_t>(ev.stream_seq));
      } else {
        correlation_.MarkPublishFailed(ev.assignment_id, AssignmentFateName(ev.fate));
      }
    };
    outbox_ = std::make_unique<AssignmentOutbox>(o, clock_, sender_, hooks);
    outbox_->SetConnected(true);
    DecideProcessorOptions po;
    po.reply_immediate = immediate;
    po.publish_timeout_ms = 500;
    processor_ = std::make_unique<DecideProcessor>(po, *service_, stats_);
    processor_->SetAssignmentOutbox(outbox_.get(), [] { return int64_t{0}; });
    processor_->SetAssignmentStores(&idempotency_, &correlation_);
    worker_ = processor_->NewWorker();
  }
  DecideOutcome Run(const std::string& body) {
    message_.subject = "beamline.router.v1.decide";
    body_ = body;
    message_.body = body_;
    message_.received_at_ms = 1795688131100;
    message_.send_later = [this](std::string_view reply) { later_.emplace_back(reply); };
    return processor_->Process(message_, *worker_);
  }
  static std::string Body(const std::string& id, const std::string& extra = "") {
    return R"({"version":"1","request_id":")" + id +
           R"(","tenant_id":"acme","task":{"type":"chat","payload_ref":"x"},"push_assignment":true)" +
           extra + "}";
  }

  testing::FakeClock clock_;
  core::SnapshotHolder snapshots_;
  core::NoBreakers breakers_;
  core::NoStatistics statistics_;
  core::StickyTable sticky_{4, 100};
  core::Decider decider_{clock_, breakers_, statistics_, sticky_};
  std::unique_ptr<service::DecisionService> service_;
  service::IdempotencyStore idempotency_{service::IdempotencyStoreOptions{}, clock_};
  service::CorrelationStore correlation_{service::CorrelationStoreOptions{}, clock_};
  RecordingSender sender_;
  std::unique_ptr<AssignmentOutbox> outbox_;
  NatsStats stats_;
  std::unique_ptr<DecideProcessor> processor_;
  std::unique_ptr<DecideProcessor::Worker> worker_;
  DecideMessage message_;
  std::string body_;
  std::vector<std::string> later_;
};

PubAckResult Ok(uint64_t seq) {
  PubAckResult r;
  r.ok = true;
  r.stream_seq = seq;
  return r;
}

// §5.1 after_publish: the reply is parked and sent from the PubAck as `published`.
TEST_F(DecidePushTest, AfterPublishParksTheReplyUntilThePubAck) {
  Build(/*immediate=*/false);
  DecideOutcome out = Run(Body("r1"));
  EXPECT_TRUE(out.deferred);
  EXPECT_TRUE(later_.empty());
  outbox_->Pump();
  ASSERT_EQ(sender_.sent.size(), 1u);
  Json body(sender_.sent[0].body);
  EXPECT_EQ(body.Int("/options/deadline_ms"), 10000);  // 2000 x 5
  EXPECT_EQ(stats_.decide_inflight.load(), 1);         // the parked reply is in flight
  outbox_->OnResult(sender_.sent[0].id, sender_.sent[0].token, Ok(1));
  ASSERT_EQ(later_.size(), 1u);
  Json r(later_[0]);
  EXPECT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/assignment/status"), "published");
  EXPECT_EQ(r.Str("/assignment/assignment_id"), sender_.sent[0].id);
  EXPECT_EQ(stats_.decide_inflight.load(), 0);
  EXPECT_EQ(correlation_.Get("acme", sender_.sent[0].id)->state,
            service::AssignmentState::kPublished);
}

// §5.1: no PubAck within publish_timeout_ms -> unavailable / assignment_not_persisted.
TEST_F(DecidePushTest, AfterPublishTimeoutAnswersNotPersisted) {
  Build(false);
  Run(Body("r1"));
  outbox_->Pump();
  clock_.Advance(std::chrono::milliseconds(500));
  outbox_->Pump();
  ASSERT_EQ(later_.size(), 1u);
  Json r(later_[0]);
  EXPECT_EQ(r.Str("/error/code"), "unavailable");
  EXPECT_EQ(r.Str("/error/message"), "Assignment not persisted: no PubAck within 500 ms");
  EXPECT_EQ(r.Str("/error/details/reason"), "assignment_not_persisted");
  EXPECT_EQ(r.Str("/error/details/assignment_id"), sender_.sent[0].id);
  EXPECT_GE(r.Int("/error/retry_after_ms"), 100);
  EXPECT_LE(r.Int("/error/retry_after_ms"), 500);
  EXPECT_EQ(r.Str("/context/request_id"), "r1");
}

// §5.1 immediate: `pending` at once.
TEST_F(DecidePushTest, ImmediateAnswersPendingAtOnce) {
  Build(true);
  DecideOutcome out = Run(Body("r1"));
  EXPECT_FALSE(out.deferred);
  Json r(out.reply);
  EXPECT_EQ(r.Str("/assignment/status"), "pending");
  EXPECT_EQ(outbox_->Depth(), 1u);
}

// §5 step 6: no free slot -> overloaded / outbox_full before anything is decided.
TEST_F(DecidePushTest, OutboxFullIsOverloaded) {
  Build(true, /*capacity=*/1);
  Run(Body("r1"));
  Json r(Run(Body("r2")).reply);
  EXPECT_EQ(r.Str("/error/code"), "overloaded");
  EXPECT_EQ(r.Str("/error/details/reason"), "outbox_full");
  EXPECT_EQ(r.Int("/error/retry_after_ms"), 1000);
  // Non-pushing decides are unaffected.
  Json plain(
      Run(R"({"version":"1","request_id":"r3","tenant_id":"acme","task":{"type":"chat","payload_ref":"x"}})")
          .reply);
  EXPECT_TRUE(plain.Bool("/ok"));
}

// §7.1: a replay of a publish_failed record re-enqueues it with the same assignment_id.
TEST_F(DecidePushTest, ReplayReenqueuesPublishFailedRecord) {
  Build(true);
  const std::string key = R"(,"idempotency_key":"k1")";
  Json first(Run(Body("r1", key)).reply);
  const std::string id = first.Str("/assignment/assignment_id");
  outbox_->Pump();
  PubAckResult bad;
  bad.error = PublishError::kInvalidSubject;  // not retryable: fate failed
  outbox_->OnResult(id, sender_.sent[0].token, bad);
  EXPECT_EQ(correlation_.Get("acme", id)->state, service::AssignmentState::kPublishFailed);
  Json again(Run(Body("r2", key)).reply);
  EXPECT_TRUE(again.Bool("/context/replayed"));
  EXPECT_EQ(again.Str("/context/request_id"), "r2");
  EXPECT_EQ(again.Str("/decision/decision_id"), first.Str("/decision/decision_id"));
  EXPECT_EQ(again.Str("/assignment/assignment_id"), id);
  EXPECT_EQ(again.Str("/assignment/status"), "pending");
  EXPECT_EQ(correlation_.Get("acme", id)->state, service::AssignmentState::kPending);
  outbox_->Pump();
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(sender_.sent[1].id, id);
  EXPECT_EQ(sender_.sent[1].body, sender_.sent[0].body);  // the stored ExecAssignment
}

// OBS §2.4 / §2.6: a pushing decide in after_publish mode ends with the reply sent after the
// PubAck wait: `ok` when published, `assignment_not_persisted` when publish_timeout_ms passed
// (one terminal increment each, the inflight gauge back to 0; the decision itself is counted).
TEST_F(DecidePushTest, AfterPublishOutcomeIsCountedWhenTheReplyIsSent) {
  obs::MetricsOptions mo;
  mo.process_metrics = false;
  auto metrics = obs::RouterMetrics::Create(std::move(mo));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  obs::RouterMetrics& m = **metrics;
  service_ = std::make_unique<service::DecisionService>(service::DecisionServiceOptions{}, clock_,
                                                        snapshots_, decider_,
                                                        service::Observability{&m, nullptr});
  Build(/*immediate=*/false);
  auto count = [&m](std::string_view outcome) {
    return m.decide_requests->Get({"nats", outcome}).Value();
  };
  auto inflight = [&m] { return m.decide_inflight->Get({"nats"}).Value(); };

  Run(Body("r1"));             // published
  EXPECT_EQ(count("ok"), 0u);  // parked: not answered yet
  EXPECT_EQ(inflight(), 1);
  outbox_->Pump();
  outbox_->OnResult(sender_.sent[0].id, sender_.sent[0].token, Ok(1));
  EXPECT_EQ(count("ok"), 1u);
  EXPECT_EQ(inflight(), 0);

  Run(Body("r2"));  // no PubAck within publish_timeout_ms
  outbox_->Pump();
  clock_.Advance(std::chrono::milliseconds(500));
  outbox_->Pump();
  ASSERT_EQ(later_.size(), 2u);
  EXPECT_EQ(count("ok"), 1u);
  EXPECT_EQ(count("assignment_not_persisted"), 1u);
  EXPECT_EQ(inflight(), 0);
  EXPECT_EQ(m.decisions->Get({"acme", "default", "weighted"}).Value(), 2u);
}

}  // namespace
}  // namespace router::nats_adapter
