// BackpressureResponder::Respond: the S9 reply of nats-contracts.md §3.9 from the monitor's last
// recompute (FakeClock), the default subject, malformed requests; without a connection,
// Subscribe fails softly and the pending poller feeds nothing.

#include "nats/backpressure_responder.h"

#include <gtest/gtest.h>

#include <vector>

#include "nats/log_sink.h"
#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

class BackpressureResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::NatsConfig c;
    c.url = "nats://127.0.0.1:1";
    auto conn = NatsConnection::Create(c, "node-a", stats_, NullLogSink());
    ASSERT_TRUE(conn.ok()) << conn.status();
    connection_ = std::move(conn).value();
    BackpressureResponderOptions o;
    o.node_id = "router-a";
    responder_ = std::make_unique<BackpressureResponder>(o, monitor_, *connection_, clock_);
  }

  static service::BackpressureOptions Options() {
    service::BackpressureOptions o;
    o.inflight_overload = 2;
    o.latency_overload_ms = 5000;
    o.queue_overload = 10;
    o.retry_after_ms = 1500;
    return o;
  }

  router::testing::FakeClock clock_{1795688140000};
  service::BackpressureMonitor monitor_{Options(), clock_};
  NatsStats stats_;
  std::unique_ptr<NatsConnection> connection_;
  std::unique_ptr<BackpressureResponder> responder_;
};

// §3.9: inactive, pending unknown (null + signals_unknown), retry_after_ms 0 unless active.
TEST_F(BackpressureResponderTest, InactiveWithUnknownPending) {
  monitor_.Recompute();
  EXPECT_EQ(
      responder_->Respond("{}"),
      R"({"success":true,"data":{"subject":"beamline.router.v1.decide","status":"inactive",)"
      R"("metrics":{"pending_messages":null,"latency_p95_ms":0,"inflight_messages":0},)"
      R"("signals_unknown":["pending"],)"
      R"("thresholds":{"queue_overload":10,"latency_overload_ms":5000,"inflight_overload":2},)"
      R"("policy":{"retry_after_seconds":2,"max_retry_attempts":3},"retry_after_ms":0,)"
      R"("node_id":"router-a","timestamp":1795688140000}})");
  EXPECT_EQ(responder_->Respond(""), responder_->Respond("{}"));  // empty body = {}
}

// §3.9: active reports the signals' values and retry_after_ms; `subject` is echoed.
TEST_F(BackpressureResponderTest, ActiveEchoesSubjectAndRetryAfter) {
  std::vector<service::DecideTicket> tickets;
  for (int i = 0; i < 3; ++i) tickets.push_back(monitor_.Begin());
  monitor_.SetPending(11);
  monitor_.Recompute();
  EXPECT_EQ(
      responder_->Respond(R"({"subject":"custom.decide"})"),
      R"({"success":true,"data":{"subject":"custom.decide","status":"active",)"
      R"("metrics":{"pending_messages":11,"latency_p95_ms":0,"inflight_messages":3},)"
      R"("signals_unknown":[],)"
      R"("thresholds":{"queue_overload":10,"latency_overload_ms":5000,"inflight_overload":2},)"
      R"("policy":{"retry_after_seconds":2,"max_retry_attempts":3},"retry_after_ms":1500,)"
      R"("node_id":"router-a","timestamp":1795688140000}})");
}

// §3.9: a malformed request gets success false / invalid_request.
TEST_F(BackpressureResponderTest, MalformedRequestsAreInvalid) {
  for (const char* body : {"not json", "[1]", R"({"subject":5})", R"({"subject":""})"}) {
    const std::string reply = responder_->Respond(body);
    EXPECT_EQ(reply.rfind(R"({"success":false,"error":{"code":"invalid_request","message":")", 0),
              0u)
        << body << " -> " << reply;
  }
}

TEST_F(BackpressureResponderTest, WithoutConnectionSubscribeFailsAndPollerFeedsNothing) {
  EXPECT_FALSE(responder_->Subscribe().ok());
  EXPECT_FALSE(responder_->Subscribed());
  responder_->Close();
  ResultsPendingPoller poller("CAF_RESULTS", "router-results", *connection_, monitor_);
  EXPECT_FALSE(poller.PollOnce());
  monitor_.Recompute();
  EXPECT_FALSE(monitor_.Report().pending.has_value());
}

}  // namespace
}  // namespace router::nats_adapter
