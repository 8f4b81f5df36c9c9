// DecideHandler pieces testable without a server: §2 header names are matched
// case-insensitively, and the handler options follow the config (workers 0 = CPU count).

#include "nats/decide_handler.h"

#include <gtest/gtest.h>

#include <thread>

namespace router::nats_adapter {
namespace {

// natsMsg_Create outside a connection needs the library initialised (a connection does this
// itself); without it cnats 3.4 crashes on the first header access.
class NatsLibrary : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(nats_Open(-1), NATS_OK); }
};
const auto* const kNatsLibrary = ::testing::AddGlobalTestEnvironment(new NatsLibrary);

TEST(DecideHandlerTest, ReadsHeadersCaseInsensitively) {
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsMsg_Create(&msg, "beamline.router.v1.decide", nullptr, "{}", 2), NATS_OK);
  NatsMsgPtr owned(msg);
  natsMsgHeader_Add(msg, "VERSION", "1");
  natsMsgHeader_Add(msg, "TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  natsMsgHeader_Add(msg, "idempotency-key", "k-1");
  natsMsgHeader_Add(msg, "X-Correlation-ID", "corr");
  natsMsgHeader_Add(msg, "Tenant_Id", "acme");
  natsMsgHeader_Add(msg, "unrelated", "x");
  DecideHeaders h = ReadDecideHeaders(msg);
  EXPECT_EQ(h.version, std::optional<std::string_view>("1"));
  EXPECT_EQ(h.traceparent, std::optional<std::string_view>(
                               "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_EQ(h.idempotency_key, std::optional<std::string_view>("k-1"));
  EXPECT_EQ(h.correlation_id, std::optional<std::string_view>("corr"));
  EXPECT_EQ(h.tenant_id, std::optional<std::string_view>("acme"));
  EXPECT_FALSE(h.trace_id.has_value());
  EXPECT_FALSE(h.span_id.has_value());
}

TEST(DecideHandlerTest, NoHeaders) {
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsMsg_Create(&msg, "s", nullptr, "{}", 2), NATS_OK);
  NatsMsgPtr owned(msg);
  DecideHeaders h = ReadDecideHeaders(msg);
  EXPECT_FALSE(h.version.has_value());
  EXPECT_FALSE(h.idempotency_key.has_value());
}

TEST(DecideHandlerTest, OptionsFromConfig) {
  config::NatsConfig c;
  DecideHandlerOptions o = DecideHandlerOptions::FromConfig(c);
  EXPECT_EQ(o.subject, "beamline.router.v1.decide");
  EXPECT_EQ(o.queue_group, "router-decide-group");
  EXPECT_EQ(o.workers, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  EXPECT_TRUE(o.reply_fallback);
  EXPECT_EQ(o.dlq_rate_per_s, 100);
  c.decide.workers = 3;
  EXPECT_EQ(DecideHandlerOptions::FromConfig(c).workers, 3);
}

}  // namespace
}  // namespace router::nats_adapter
