// Readiness checks in report order, shutdown, the /ready JSON shape and change listeners
// (OBS §7.2, §7.3).
#include "service/readiness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace router::service {
namespace {

std::vector<std::string> Names(const std::vector<CheckState>& checks) {
  std::vector<std::string> out;
  for (const auto& c : checks) out.push_back(c.name);
  return out;
}

TEST(ReadinessTest, StartsNotReadyWithEveryCheckFailing) {
  Readiness r({"config", "store", "grpc"});
  EXPECT_FALSE(r.Ready());
  EXPECT_FALSE(r.ShuttingDown());
  auto checks = r.Checks();
  EXPECT_EQ(Names(checks), (std::vector<std::string>{"config", "store", "grpc", "shutdown"}));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(checks[i].ok);
    EXPECT_EQ(checks[i].message, "starting");
  }
  EXPECT_TRUE(checks[3].ok);
  EXPECT_EQ(checks[3].message, "");
}

TEST(ReadinessTest, ReadyWhenEveryCheckPasses) {
  Readiness r({"config", "store", "grpc"});
  r.Set("config", true);
  r.Set("store", true, "", 42);
  EXPECT_FALSE(r.Ready());
  EXPECT_TRUE(r.CheckOk("store"));
  EXPECT_FALSE(r.CheckOk("grpc"));
  r.Set("grpc", true);
  EXPECT_TRUE(r.Ready());
  r.Set("store", false, "integrity check failed");
  EXPECT_FALSE(r.Ready());
  EXPECT_FALSE(r.CheckOk("store"));
}

TEST(ReadinessTest, UnknownNamesAreIgnored) {
  Readiness r({"config"});
  r.Set("nats", true);
  EXPECT_FALSE(r.CheckOk("nats"));
  EXPECT_FALSE(r.CheckOk("shutdown"));  // reported by Checks() only
  EXPECT_EQ(Names(r.Checks()), (std::vector<std::string>{"config", "shutdown"}));
  r.Set("config", true);
  EXPECT_TRUE(r.Ready());
}

TEST(ReadinessTest, NoChecksMeansReadyUntilShutdown) {
  Readiness r({});
  EXPECT_TRUE(r.Ready());
  r.BeginShutdown();
  EXPECT_FALSE(r.Ready());
}

TEST(ReadinessTest, ShutdownMakesNotReady) {
  Readiness r({"config"});
  r.Set("config", true);
  ASSERT_TRUE(r.Ready());
  r.BeginShutdown();
  EXPECT_TRUE(r.ShuttingDown());
  EXPECT_FALSE(r.Ready());
  EXPECT_TRUE(r.CheckOk("config"));
  auto checks = r.Checks();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[1].name, "shutdown");
  EXPECT_FALSE(checks[1].ok);
  EXPECT_EQ(checks[1].message, "in progress");
  // Setting checks afterwards cannot make the router ready again.
  r.Set("config", true);
  EXPECT_FALSE(r.Ready());
}

TEST(ReadinessTest, JsonWhileStarting) {
  Readiness r({"config", "store", "grpc"});
  EXPECT_EQ(r.ToJson(),
            "{\"status\":\"not_ready\",\"checks\":{"
            "\"config\":{\"status\":\"fail\",\"message\":\"starting\"},"
            "\"store\":{\"status\":\"fail\",\"message\":\"starting\"},"
            "\"grpc\":{\"status\":\"fail\",\"message\":\"starting\"},"
            "\"shutdown\":{\"status\":\"ok\"}},"
            "\"backpressure\":\"inactive\"}");
}

TEST(ReadinessTest, JsonWhenReadyShowsStoreVersion) {
  Readiness r({"config", "store", "grpc"});
  r.Set("config", true);
  r.Set("store", true, "", 42);
  r.Set("grpc", true);
  EXPECT_EQ(r.ToJson(),
            "{\"status\":\"ready\",\"checks\":{"
            "\"config\":{\"status\":\"ok\"},"
            "\"store\":{\"status\":\"ok\",\"version\":42},"
            "\"grpc\":{\"status\":\"ok\"},"
            "\"shutdown\":{\"status\":\"ok\"}},"
            "\"backpressure\":\"inactive\"}");
}

TEST(ReadinessTest, JsonDuringShutdown) {
  Readiness r({"config"});
  r.Set("config", true);
  r.BeginShutdown();
  EXPECT_EQ(r.ToJson(),
            "{\"status\":\"not_ready\",\"checks\":{"
            "\"config\":{\"status\":\"ok\"},"
            "\"shutdown\":{\"status\":\"fail\",\"message\":\"in progress\"}},"
            "\"backpressure\":\"inactive\"}");
}

TEST(ReadinessTest, JsonEscapesMessages) {
  Readiness r({"nats"});
  r.Set("nats", false, std::string("say \"hi\"\\\n\t\r\x01", 13));
  EXPECT_EQ(r.ToJson(),
            "{\"status\":\"not_ready\",\"checks\":{"
            "\"nats\":{\"status\":\"fail\",\"message\":\"say \\\"hi\\\"\\\\\\n\\t\\r\\u0001\"},"
            "\"shutdown\":{\"status\":\"ok\"}},"
            "\"backpressure\":\"inactive\"}");
}

TEST(ReadinessTest, ListenersRunAfterEveryChangeOutsideTheLock) {
  Readiness r({"config"});
  std::vector<bool> seen_ready;
  int second = 0;
  // The listener reads the state back: it would deadlock if called under the mutex.
  r.OnChange([&] { seen_ready.push_back(r.Ready()); });
  r.OnChange([&] {
    ++second;
    (void)r.ToJson();
  });
  r.Set("config", false, "loading");
  r.Set("config", true);
  r.BeginShutdown();
  EXPECT_EQ(seen_ready, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(second, 3);
}

TEST(ReadinessTest, ConcurrentSettersReachTheFinalState) {
  std::vector<std::string> names = {"a", "b", "c", "d"};
  Readiness r(names);
  std::atomic<int> notified{0};
  r.OnChange([&] { notified.fetch_add(1); });
  std::latch start(static_cast<std::ptrdiff_t>(names.size()));
  std::vector<std::thread> threads;
  for (const auto& name : names) {
    threads.emplace_back([&, name] {
      start.arrive_and_wait();
      for (int i = 0; i < 100; ++i) r.Set(name, i % 2 == 1, "", i);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(r.Ready());
  for (const auto& c : r.Checks()) {
    EXPECT_TRUE(c.ok) << c.name;
    if (c.name != "shutdown") {
      EXPECT_EQ(c.version, 99) << c.name;
    }
  }
  EXPECT_EQ(notified.load(), 400);
}

}  // namespace
}  // namespace router::service
