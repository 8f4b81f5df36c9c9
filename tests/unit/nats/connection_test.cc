// NatsConnection pieces that need no server: the §8 reconnect delay, server URL handling and
// option errors (unreadable files, malformed nkey seed). Connecting is covered by the
// integration tests against a real nats-server.

#include "nats/connection.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace router::nats_adapter {
namespace {

TEST(ReconnectDelayTest, DoublesFromBaseUpToMaxWithJitterUnderTwentyPercent) {
  const int64_t expected[] = {500, 1000, 2000, 4000, 5000, 5000, 5000};
  for (int attempt = 1; attempt <= 7; ++attempt) {
    const int64_t base = expected[attempt - 1];
    EXPECT_EQ(ReconnectDelayMs(500, 5000, attempt, 0), base) << attempt;
    EXPECT_EQ(ReconnectDelayMs(500, 5000, attempt, base / 5), base + base / 5) << attempt;
    for (uint64_t r : {1ULL, 77ULL, 123456789ULL, ~0ULL}) {
      const int64_t d = ReconnectDelayMs(500, 5000, attempt, r);
      EXPECT_GE(d, base);
      EXPECT_LE(d, base + base / 5);
    }
  }
  EXPECT_EQ(ReconnectDelayMs(500, 5000, 1000000, 0), 5000);  // no overflow
  EXPECT_EQ(ReconnectDelayMs(0, 0, 1, 0), 1);
}

TEST(ServerUrlTest, SplitAndRedact) {
  EXPECT_EQ(SplitServerUrls(" nats://a:4222, ,tls://b:4222 "),
            (std::vector<std::string>{"nats://a:4222", "tls://b:4222"}));
  EXPECT_TRUE(SplitServerUrls(",").empty());
  EXPECT_EQ(RedactUrl("nats://user:secret@host:4222"), "nats://host:4222");
  EXPECT_EQ(RedactUrl("nats://host:4222"), "nats://host:4222");
  EXPECT_EQ(RedactUrl("token@host"), "host");
}

TEST(NatsConnectionTest, RejectsUnusableOptions) {
  NatsStats stats;
  config::NatsConfig c;
  EXPECT_FALSE(NatsConnection::Create(c, "n", stats, NullLogSink()).ok());  // no URL

  c.url = "nats://127.0.0.1:1";
  c.tls.enabled = true;
  c.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(NatsConnection::Create(c, "n", stats, NullLogSink()).ok());

  config::NatsConfig n;
  n.url = "nats://127.0.0.1:1";
  n.auth.nkey_seed_file = "/nonexistent/seed.nk";
  EXPECT_FALSE(NatsConnection::Create(n, "n", stats, NullLogSink()).ok());

  const std::string path = ::testing::TempDir() + "/bad_seed.nk";
  std::ofstream(path) << "SUAGARBAGEGARBAGEGARBAGEGARBAGEGARBAGEGARBAGEGARBAGEGARBAGEGA\n";
  n.auth.nkey_seed_file = path;
  auto bad = NatsConnection::Create(n, "n", stats, NullLogSink());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  std::remove(path.c_str());
}

TEST(NatsConnectionTest, CreatesWithoutConnecting) {
  NatsStats stats;
  config::NatsConfig c;
  c.url = "nats://user:pw@127.0.0.1:1,nats://127.0.0.1:2";
  auto conn = NatsConnection::Create(c, "node-a", stats, NullLogSink());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->raw(), nullptr);
  EXPECT_FALSE((*conn)->IsConnected());
  EXPECT_EQ((*conn)->ConnectedServer(), "");
  EXPECT_EQ((*conn)->StatusGauge(), 0);
}

}  // namespace
}  // namespace router::nats_adapter
