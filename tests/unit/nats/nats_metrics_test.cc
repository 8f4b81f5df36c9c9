// The NATS transport's counters in the metrics exposition (observability.md §2.5; nats_metrics.h):
// each NatsStats atomic moves its catalogue series at scrape time, the connection gauge follows
// the connection, and the connect-failure / slow-consumer labels are classified as the
// catalogue's closed sets say. No server is needed (a refused port stands in for a failed
// connect).

#include "nats/nats_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nats/decide_request.h"
#include "obs/metrics/router_metrics.h"

namespace router::nats_adapter {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<obs::RouterMetrics> MakeMetrics() {
  obs::MetricsOptions options;
  options.process_metrics = false;
  auto m = obs::RouterMetrics::Create(std::move(options));
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

TEST(NatsMetricsTest, StatsCountersAppearUnderTheirCatalogueSeries) {
  auto metrics = MakeMetrics();
  NatsStats stats;
  ExportNatsStats(*metrics, stats, nullptr);
  // Pre-initialised at 0 (OBS §2.1) before anything happened.
  EXPECT_THAT(metrics->Render(),
              HasSubstr("router_intake_validation_errors_total{source=\"decide\",code=\"SCHEMA_"
                        "VALIDATION_FAILED\"} 0\n"));

  stats.intake_errors_by_code[static_cast<size_t>(IntakeCode::kSchemaValidationFailed)] += 2;
  stats.intake_errors_by_code[static_cast<size_t>(IntakeCode::kPayloadTooSmall)] += 1;
  stats.trace_id_nonconforming += 3;
  stats.ctx_missing_headers += 4;
  stats.dlq_rate_dropped += 5;
  stats.reply_no_subject += 1;
  stats.reply_disconnected += 2;
  stats.reply_publish_failed += 3;
  stats.assignment_skipped += 6;
  stats.assignment_blocked += 7;
  stats.connections_established += 2;
  stats.connections_lost += 1;
  stats.reconnect_attempts += 9;
  stats.connect_failures_by_reason[static_cast<size_t>(ConnectFailureReason::kAuth)] += 1;
  stats.slow_consumer_by_subscription[static_cast<size_t>(SlowConsumerSubscription::kFanout)] += 8;
  stats.stream_ensure[3][0] += 1;  // usage, created
  stats.stream_ensure[1][2] += 2;  // results, unchanged
  stats.stream_drift[4] = 1;       // dlq

  const std::string text = metrics->Render();
  for (const char* line : {
           "router_intake_validation_errors_total{source=\"decide\",code=\"SCHEMA_VALIDATION_"
           "FAILED\"} 2\n",
           "router_intake_validation_errors_total{source=\"decide\",code=\"PAYLOAD_TOO_SMALL\"} "
           "1\n",
           "router_intake_trace_id_nonconforming_total{source=\"decide\"} 3\n",
           "ctx_missing_headers_total 4\n",
           "router_intake_dlq_dropped_total 5\n",
           "router_nats_reply_failures_total{reason=\"no_reply_subject\"} 1\n",
           "router_nats_reply_failures_total{reason=\"disconnected\"} 2\n",
           "router_nats_reply_failures_total{reason=\"publish_error\"} 3\n",
           "router_assignment_skipped_total 6\n",
           "router_assignment_blocked_total 7\n",
           "router_nats_connection_established_total 2\n",
           "router_nats_connection_lost_total 1\n",
           "router_nats_reconnect_attempts_total 9\n",
           "router_nats_connect_failures_total{reason=\"auth\"} 1\n",
           "router_nats_connect_failures_total{reason=\"refused\"} 0\n",
           "router_nats_slow_consumer_total{subscription=\"fanout\"} 8\n",
           "router_jetstream_stream_ensure_total{stream=\"usage\",result=\"created\"} 1\n",
           "router_jetstream_stream_ensure_total{stream=\"results\",result=\"unchanged\"} 2\n",
           "router_jetstream_stream_config_drift{stream=\"dlq\"} 1\n",
           "router_jetstream_stream_config_drift{stream=\"usage\"} 0\n",
           "router_nats_connection_status 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(NatsMetricsTest, ConnectionStatusFollowsTheConnection) {
  auto metrics = MakeMetrics();
  NatsStats stats;
  config::NatsConfig c;
  c.url = "nats://127.0.0.1:1";  // nobody listens: cnats keeps connecting in the background
  auto conn = NatsConnection::Create(c, "n", stats, NullLogSink());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ExportNatsStats(*metrics, stats, conn->get());
  EXPECT_THAT(metrics->Render(), HasSubstr("router_nats_connection_status 0\n"));
  ASSERT_TRUE((*conn)->Connect().ok());
  // §8: a failed first connect does not stop startup; it is counted (refused) and the
  // connection is reconnecting (0.5).
  const std::string text = metrics->Render();
  EXPECT_THAT(text, HasSubstr("router_nats_connect_failures_total{reason=\"refused\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_nats_connection_status 0.5\n"));
  (*conn)->Close();
  EXPECT_THAT(metrics->Render(), HasSubstr("router_nats_connection_status 0\n"));
}

TEST(NatsMetricsTest, ConnectFailureReasons) {
  EXPECT_EQ(ClassifyConnectFailure(NATS_NO_SERVER, "Connection refused"),
            ConnectFailureReason::kRefused);
  EXPECT_EQ(ClassifyConnectFailure(NATS_NOT_YET_CONNECTED, ""), ConnectFailureReason::kRefused);
  EXPECT_EQ(ClassifyConnectFailure(NATS_TIMEOUT, ""), ConnectFailureReason::kTimeout);
  EXPECT_EQ(ClassifyConnectFailure(NATS_SSL_ERROR, ""), ConnectFailureReason::kTls);
  EXPECT_EQ(ClassifyConnectFailure(NATS_ERR, "SSL handshake error: certificate verify failed"),
            ConnectFailureReason::kTls);
  EXPECT_EQ(ClassifyConnectFailure(NATS_NOT_PERMITTED, ""), ConnectFailureReason::kAuth);
  EXPECT_EQ(ClassifyConnectFailure(NATS_ERR, "'Authorization Violation'"),
            ConnectFailureReason::kAuth);
  EXPECT_EQ(ClassifyConnectFailure(NATS_NO_SERVER, "No address for host: nope.invalid"),
            ConnectFailureReason::kDns);
  EXPECT_EQ(ClassifyConnectFailure(NATS_ERR, "something else"), ConnectFailureReason::kOther);
  EXPECT_EQ(ConnectFailureReasonName(ConnectFailureReason::kDns), "dns");
  EXPECT_EQ(ConnectFailureReasonName(ConnectFailureReason::kOther), "other");
}

TEST(NatsMetricsTest, SlowConsumerSubscriptionLabels) {
  config::NatsConfig c;
  EXPECT_EQ(ClassifySlowConsumer(c, c.decide.subject), SlowConsumerSubscription::kDecide);
  EXPECT_EQ(ClassifySlowConsumer(c, c.status.subject), SlowConsumerSubscription::kStatus);
  EXPECT_EQ(ClassifySlowConsumer(c, c.jetstream.consumers.results.filter_subject),
            SlowConsumerSubscription::kFanout);
  EXPECT_EQ(ClassifySlowConsumer(c, c.jetstream.consumers.acks.filter_subject),
            SlowConsumerSubscription::kFanout);
  EXPECT_EQ(ClassifySlowConsumer(c, "_INBOX.abc"), std::nullopt);  // pull subscription
  EXPECT_EQ(SlowConsumerSubscriptionName(SlowConsumerSubscription::kStatus), "status");
}

}  // namespace
}  // namespace router::nats_adapter
