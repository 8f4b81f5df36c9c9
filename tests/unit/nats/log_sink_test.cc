// The transport's log sink forwards to the process-wide structured logger (OBS §5.1 record,
// subsystem `nats`).

#include "nats/log_sink.h"

#include <gtest/gtest.h>

#include "nats_test_util.h"
#include "obs/logging/log_sink.h"
#include "obs/logging/logger.h"

namespace router::nats_adapter {
namespace {

TEST(LogSinkTest, GlobalSinkWritesStructuredRecords) {
  auto memory = std::make_unique<obs::MemoryLogSink>();
  obs::MemoryLogSink* lines = memory.get();
  obs::LoggerOptions options;
  options.sink = std::move(memory);
  auto logger = obs::Logger::Create(std::move(options));
  ASSERT_TRUE(logger.ok()) << logger.status();
  obs::SetGlobalLogger(logger->get());

  Log(GlobalLogSink(), "WARN", "nats.disconnected", "disconnected from NATS; reconnecting",
      {{"server", "nats://127.0.0.1:4222"}});
  Log(NullLogSink(), "ERROR", "never.written", "dropped");
  Log(LogSink(), "ERROR", "never.written", "no sink");
  (*logger)->Flush();
  obs::SetGlobalLogger(nullptr);

  ASSERT_EQ(lines->Lines().size(), 1u);
  testutil::Json j(lines->Lines()[0]);
  EXPECT_EQ(j.Str("/level"), "WARN");
  EXPECT_EQ(j.Str("/subsystem"), "nats");
  EXPECT_EQ(j.Str("/event"), "nats.disconnected");
  EXPECT_EQ(j.Str("/message"), "disconnected from NATS; reconnecting");
  EXPECT_EQ(j.Str("/context/server"), "nats://127.0.0.1:4222");
}

}  // namespace
}  // namespace router::nats_adapter
