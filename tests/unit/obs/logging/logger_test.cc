// Logger (obs/logging/logger.h): OBS §1 O1 (callers never wait, no I/O on the caller), §5.1
// records, §5.2 levels (runtime change for SIGHUP), §5.3 redaction through the logger (issue #3
// acceptance: api_key, authorization and a Bearer value never reach the output), §5.4 rate
// limiting with `log.suppressed` summaries, bounded queue with drops counted, shutdown drains,
// `router.fatal` synchronous; configuration `[log]` file output reopened on SIGHUP.
#include "obs/logging/logger.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "support/fake_clock.h"
#include "unit/obs/logging/json_reader.h"

namespace router::obs {
namespace {

using testing::Json;
using testing::JsonReader;
using namespace std::chrono_literals;

Json Parse(const std::string& line) {
  std::optional<Json> json = JsonReader::Parse(line);
  EXPECT_TRUE(json.has_value()) << "not valid JSON: " << line;
  return json.value_or(Json());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes into a MemoryLogSink owned by the test, so output can be read after the logger is gone.
class ForwardingSink final : public LogSink {
 public:
  explicit ForwardingSink(MemoryLogSink* target) : target_(target) {}
  absl::Status Write(std::string_view lines) override { return target_->Write(lines); }
  absl::Status Reopen() override { return target_->Reopen(); }

 private:
  MemoryLogSink* target_;
};

class LoggerTest : public ::testing::Test {
 protected:
  // A logger writing into memory sinks, driven by the fake clock.
  std::unique_ptr<Logger> Start(LoggerOptions options = {}) {
    options.sink = std::make_unique<ForwardingSink>(sink_);
    options.fatal_sink = std::make_unique<ForwardingSink>(fatal_sink_);
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<Logger>> logger = Logger::Create(std::move(options));
    EXPECT_TRUE(logger.ok()) << logger.status();
    return std::move(*logger);
  }

  std::vector<std::string> Lines() const { return sink_->Lines(); }
  std::vector<Json> Records() const {
    std::vector<Json> out;
    for (const std::string& line : sink_->Lines()) out.push_back(Parse(line));
    return out;
  }

  router::testing::FakeClock clock_;  // wall 1'700'000'000'000 ms = 2023-11-14T22:13:20Z
  MemoryLogSink memory_;
  MemoryLogSink fatal_memory_;
  MemoryLogSink* const sink_ = &memory_;
  MemoryLogSink* const fatal_sink_ = &fatal_memory_;
};

// ---------------------------------------------------------------- records (§5.1)

TEST_F(LoggerTest, WritesOneJsonLinePerRecord) {
  auto logger = Start();
  logger->Info("main", "router.listening", "listening", {{"grpc_port", 9000}});
  logger->Flush();
  ASSERT_EQ(Lines().size(), 1u);
  EXPECT_EQ(Lines()[0],
            "{\"timestamp\":\"2023-11-14T22:13:20.000000Z\",\"level\":\"INFO\","
            "\"component\":\"router\",\"subsystem\":\"main\",\"event\":\"router.listening\","
            "\"message\":\"listening\",\"context\":{\"grpc_port\":9000}}");
}

TEST_F(LoggerTest, BuilderSetsCorrelationAndContextInSpecOrder) {
  auto logger = Start();
  logger->Error("outbox", "assignment.publish_failed", "assignment publish failed")
      .Field("reason", "timeout")
      .LatencyMs(12)
      .ErrorCode("unavailable")
      .TenantId("acme")
      .AssignmentId("a-1")
      .RequestId("r-1")
      .PolicyVersion(7)
      .PolicyId("support-chat")
      .TraceId("4bf92f3577b34da6a3ce929d0e0e4736")
      .Field("attempts", 3)
      .Fields({{"final", true}});
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 1u);
  const Json& j = records[0];
  EXPECT_EQ(j.Keys(), (std::vector<std::string>{
                          "timestamp", "level", "component", "subsystem", "event", "message",
                          "tenant_id", "policy_id", "policy_version", "request_id", "assignment_id",
                          "trace_id", "error_code", "latency_ms", "context"}));
  EXPECT_EQ(j.Str("level"), "ERROR");
  EXPECT_EQ(j.Num("policy_version"), "7");
  EXPECT_EQ(j.Num("latency_ms"), "12");
  ASSERT_NE(j.Find("context"), nullptr);
  EXPECT_EQ(j.Find("context")->Keys(), (std::vector<std::string>{"reason", "attempts", "final"}));
}

TEST_F(LoggerTest, NodeIdOptionIsWrittenOnEveryRecord) {
  LoggerOptions options;
  options.node_id = "router-a1";
  auto logger = Start(std::move(options));
  logger->Info("main", "router.ready", "ready");
  logger->Warn("nats", "nats.disconnected", "lost").NodeId("explicit");
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].Str("node_id"), "router-a1");
  EXPECT_EQ(records[1].Str("node_id"), "explicit");
}

TEST_F(LoggerTest, PreparedRecordKeepsItsTimestamp) {
  auto logger = Start();
  LogRecord r;
  r.level = LogLevel::kWarn;
  r.timestamp_us = 1'795'718'700'123'456;
  r.subsystem = "config";
  r.event = "config.restart_required";
  r.message = "restart required";
  EXPECT_TRUE(logger->Log(std::move(r)));
  logger->Flush();
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0].Str("timestamp"), "2026-11-26T18:45:00.123456Z");
}

TEST(LoggerSystemClockTest, TimestampsHaveMicroseconds) {
  auto sink = std::make_unique<MemoryLogSink>();
  MemoryLogSink* raw = sink.get();
  LoggerOptions options;
  options.sink = std::move(sink);
  auto logger = Logger::Create(std::move(options));
  ASSERT_TRUE(logger.ok());
  (*logger)->Info("main", "router.starting", "starting");
  (*logger)->Flush();
  ASSERT_EQ(raw->Lines().size(), 1u);
  const Json j = Parse(raw->Lines()[0]);
  // YYYY-MM-DDTHH:MM:SS.uuuuuuZ
  const std::string ts = j.Str("timestamp");
  const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  ASSERT_EQ(ts.size(), shape.size()) << ts;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd') {
      EXPECT_TRUE(ts[i] >= '0' && ts[i] <= '9') << ts;
    } else {
      EXPECT_EQ(ts[i], shape[i]) << ts;
    }
  }
}

// ---------------------------------------------------------------- levels (§5.2)

TEST_F(LoggerTest, DefaultLevelIsInfo) {
  auto logger = Start();
  EXPECT_EQ(logger->Level(), LogLevel::kInfo);
  EXPECT_TRUE(logger->Enabled(LogLevel::kError));
  EXPECT_TRUE(logger->Enabled(LogLevel::kWarn));
  EXPECT_TRUE(logger->Enabled(LogLevel::kInfo));
  EXPECT_FALSE(logger->Enabled(LogLevel::kDebug));
  logger->Debug("decide", "decide.completed", "decided");
  logger->Info("main", "router.ready", "ready");
  logger->Flush();
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0].Str("event"), "router.ready");
  EXPECT_EQ(logger->Counters().Records(LogLevel::kDebug), 0u);
  EXPECT_EQ(logger->Counters().Dropped(LogLevel::kDebug), 0u);  // filtered is not dropped
}

TEST_F(LoggerTest, DisabledLevelBuildsNothing) {
  auto logger = Start();
  LogBuilder b = logger->Debug("decide", "decide.completed", "decided");
  EXPECT_FALSE(b.Enabled());
  b.TenantId("acme").Field("k", std::string(100, 'x')).LatencyMs(3);
  EXPECT_FALSE(b.Submit());
  LogBuilder enabled = logger->Info("main", "router.ready", "ready");
  EXPECT_TRUE(enabled.Enabled());
}

TEST_F(LoggerTest, LevelChangesAtRuntime) {
  auto logger = Start();
  logger->SetLevel(LogLevel::kDebug);  // SIGHUP applies log.level
  EXPECT_TRUE(logger->Enabled(LogLevel::kDebug));
  logger->Debug("decide", "decide.completed", "decided");
  logger->SetLevel(LogLevel::kError);
  logger->Warn("nats", "nats.disconnected", "lost");
  logger->Info("main", "router.ready", "ready");
  logger->Error("store", "store.write_failed", "write failed");
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].Str("level"), "DEBUG");
  EXPECT_EQ(records[1].Str("level"), "ERROR");
  EXPECT_EQ(logger->Level(), LogLevel::kError);
}

TEST_F(LoggerTest, OptionsLevelIsApplied) {
  LoggerOptions options;
  options.level = LogLevel::kWarn;
  auto logger = Start(std::move(options));
  EXPECT_FALSE(logger->Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger->Enabled(LogLevel::kWarn));
}

TEST(LogLevelTest, ParseAndNames) {
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("trace").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "WARN");
  EXPECT_EQ(*ParseLogOutput("stdout"), LogOutput::kStdout);
  EXPECT_EQ(*ParseLogOutput("stderr"), LogOutput::kStderr);
  EXPECT_EQ(*ParseLogOutput("file"), LogOutput::kFile);
  EXPECT_FALSE(ParseLogOutput("syslog").ok());
}

// ---------------------------------------------------------------- delivery (§5.4, O1)

TEST_F(LoggerTest, FullQueueDropsAndCountsWithoutWaiting) {
  LoggerOptions options;
  options.queue_capacity = 4;
  auto logger = Start(std::move(options));
  logger->PauseWriterForTest();  // nothing drains: the queue fills
  int queued = 0;
  for (int i = 0; i < 10; ++i) {
    if (logger->Info("main", "router.ready", "r" + std::to_string(i)).Submit()) ++queued;
  }
  logger->Warn("nats", "nats.disconnected", "lost");
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(logger->Counters().Dropped(LogLevel::kInfo), 6u);
  EXPECT_EQ(logger->Counters().Dropped(LogLevel::kWarn), 1u);
  EXPECT_TRUE(Lines().empty());  // no I/O on the caller
  logger->ResumeWriterForTest();
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(records[i].Str("message"), "r" + std::to_string(i));
  EXPECT_EQ(logger->Counters().Records(LogLevel::kInfo), 4u);
}

TEST_F(LoggerTest, StopDrainsEverythingQueued) {
  LoggerOptions options;
  options.queue_capacity = 100;
  auto logger = Start(std::move(options));
  logger->PauseWriterForTest();
  for (int i = 0; i < 100; ++i) logger->Info("main", "router.ready", std::to_string(i));
  logger->Stop();  // also releases the paused writer
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(records[99].Str("message"), "99");
  EXPECT_EQ(logger->Counters().Records(LogLevel::kInfo), 100u);
  EXPECT_EQ(logger->Counters().Dropped(LogLevel::kInfo), 0u);
}

TEST_F(LoggerTest, RecordsAfterStopAreDroppedAndCounted) {
  auto logger = Start();
  logger->Stop();
  EXPECT_FALSE(logger->Error("main", "router.shutdown.complete", "late").Submit());
  EXPECT_EQ(logger->Counters().Dropped(LogLevel::kError), 1u);
  logger->Flush();  // returns at once
  logger->Stop();   // idempotent
  EXPECT_TRUE(Lines().empty());
}

TEST_F(LoggerTest, DestructorDrains) {
  {
    auto logger = Start();
    for (int i = 0; i < 10; ++i) logger->Info("main", "router.ready", "ready");
  }
  EXPECT_EQ(Lines().size(), 10u);
}

TEST_F(LoggerTest, ConcurrentCallersEveryRecordIsWrittenOrCounted) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 3000;
  LoggerOptions options;
  options.queue_capacity = 256;
  auto logger = Start(std::move(options));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        logger->Info("decide", "router.ready", "m").Field("t", t).Field("i", i);
      }
    });
  }
  for (auto& th : threads) th.join();
  logger->Stop();
  const uint64_t written = logger->Counters().Records(LogLevel::kInfo);
  const uint64_t dropped = logger->Counters().Dropped(LogLevel::kInfo);
  EXPECT_EQ(written + dropped, static_cast<uint64_t>(kThreads * kPerThread));
  const std::vector<std::string> lines = Lines();
  EXPECT_EQ(lines.size(), written);
  for (const std::string& line : lines) ASSERT_TRUE(JsonReader::Parse(line).has_value()) << line;
}

TEST_F(LoggerTest, FatalIsWrittenSynchronouslyToTheFatalSink) {
  auto logger = Start();
  logger->PauseWriterForTest();  // proves the caller writes it, not the writer
  logger->Error("main", "router.fatal", "cannot bind").Field("grpc_listen", "0.0.0.0:9000");
  ASSERT_EQ(fatal_sink_->Lines().size(), 1u);
  const Json j = Parse(fatal_sink_->Lines()[0]);
  EXPECT_EQ(j.Str("event"), "router.fatal");
  EXPECT_EQ(j.Str("level"), "ERROR");
  EXPECT_EQ(logger->Counters().Records(LogLevel::kError), 1u);
  logger->ResumeWriterForTest();
  logger->Flush();
  EXPECT_TRUE(Lines().empty());
}

// ---------------------------------------------------------------- rate limiting (§5.4)

TEST_F(LoggerTest, RepeatedErrorsAreSuppressedAndSummarised) {
  LoggerOptions options;
  options.rate_limit_burst = 3;
  options.rate_limit_interval_ms = 10'000;
  auto logger = Start(std::move(options));
  for (int i = 0; i < 5; ++i) {
    logger->Error("store", "store.write_failed", "write failed").ErrorCode("internal");
  }
  logger->Flush();
  EXPECT_EQ(Lines().size(), 3u);
  EXPECT_EQ(logger->Counters().Suppressed(LogLevel::kError), 2u);
  EXPECT_EQ(logger->Counters().Records(LogLevel::kError), 3u);

  clock_.Advance(10s);  // the window closes
  logger->Flush();
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 4u);
  const Json summary = Parse(lines[3]);
  EXPECT_EQ(summary.Keys(),
            (std::vector<std::string>{"timestamp", "level", "component", "subsystem", "event",
                                      "message", "error_code", "context"}));
  EXPECT_EQ(summary.Str("level"), "WARN");
  EXPECT_EQ(summary.Str("subsystem"), "store");
  EXPECT_EQ(summary.Str("event"), "log.suppressed");
  EXPECT_EQ(summary.Str("error_code"), "internal");
  EXPECT_EQ(summary.Str("timestamp"), "2023-11-14T22:13:30.000000Z");
  ASSERT_NE(summary.Find("context"), nullptr);
  EXPECT_EQ(lines[3].substr(lines[3].find("\"context\"")),
            "\"context\":{\"of_event\":\"store.write_failed\",\"suppressed\":2,\"window_s\":10}}");
  EXPECT_EQ(logger->Counters().Records(LogLevel::kWarn), 1u);
}

TEST_F(LoggerTest, SummaryPrecedesTheRecordThatOpensTheNextWindow) {
  LoggerOptions options;
  options.rate_limit_burst = 1;
  options.rate_limit_interval_ms = 1000;
  auto logger = Start(std::move(options));
  logger->PauseWriterForTest();  // everything is processed in one go, in order
  logger->Warn("nats", "nats.slow_consumer", "slow");
  logger->Warn("nats", "nats.slow_consumer", "slow");
  clock_.Advance(1s);
  logger->Warn("nats", "nats.slow_consumer", "slow again");
  logger->ResumeWriterForTest();
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].Str("event"), "nats.slow_consumer");
  EXPECT_EQ(records[1].Str("event"), "log.suppressed");
  EXPECT_EQ(records[1].Find("context")->Num("suppressed"), "1");
  EXPECT_EQ(records[1].Find("context")->Num("window_s"), "1");
  EXPECT_EQ(records[2].Str("message"), "slow again");
  EXPECT_EQ(logger->Counters().Suppressed(LogLevel::kWarn), 1u);
}

TEST_F(LoggerTest, InfoAndDebugAreNotRateLimitedByDefault) {
  LoggerOptions options;
  options.level = LogLevel::kDebug;
  options.rate_limit_burst = 1;
  auto logger = Start(std::move(options));
  for (int i = 0; i < 5; ++i) {
    logger->Info("admin", "admin.mutation", "upsert");
    logger->Debug("decide", "decide.completed", "decided");
  }
  logger->Flush();
  EXPECT_EQ(Lines().size(), 10u);
}

TEST_F(LoggerTest, RateLimitLevelIsConfigurableAndRecordsCanOptOut) {
  LoggerOptions options;
  options.level = LogLevel::kDebug;
  options.rate_limit_burst = 1;
  options.rate_limit_max_level = LogLevel::kDebug;  // everything limited
  auto logger = Start(std::move(options));
  for (int i = 0; i < 3; ++i) logger->Debug("decide", "decide.rejected", "rejected");
  for (int i = 0; i < 3; ++i) logger->Info("main", "router.ready", "ready").NoRateLimit();
  logger->Flush();
  EXPECT_EQ(Lines().size(), 4u);
  EXPECT_EQ(logger->Counters().Suppressed(LogLevel::kDebug), 2u);
}

TEST_F(LoggerTest, RateLimitChangesAtRuntime) {
  auto logger = Start();
  logger->SetRateLimit(1, 500);  // SIGHUP applies log.rate_limit_*
  for (int i = 0; i < 4; ++i) logger->Error("store", "store.row_invalid", "bad row");
  clock_.Advance(500ms);
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].Str("event"), "log.suppressed");
  EXPECT_EQ(records[1].Find("context")->Num("window_s"), "0.5");
  EXPECT_EQ(records[1].Find("context")->Num("suppressed"), "3");
}

TEST_F(LoggerTest, StopWritesPendingSummaries) {
  LoggerOptions options;
  options.rate_limit_burst = 2;
  auto logger = Start(std::move(options));
  for (int i = 0; i < 6; ++i) logger->Error("jetstream", "jetstream.stream_error", "error");
  logger->Stop();  // the 10 s window is still open
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].Str("event"), "log.suppressed");
  EXPECT_EQ(records[2].Find("context")->Num("suppressed"), "4");
  EXPECT_EQ(records[2].Find("context")->Num("window_s"), "10");
}

// ---------------------------------------------------------------- redaction (§5.3)

TEST_F(LoggerTest, SecretsInContextNeverReachTheOutput) {
  // Issue #3 acceptance: api_key, authorization and a Bearer value.
  auto logger = Start();
  logger->Warn("admin", "admin.auth_failed", "admin authentication failed",
               {{"api_key", "k-9f8e7d6c5b4a"},
                {"Authorization", "Basic dXNlcjpodW50ZXIy"},
                {"peer", "ipv4:10.0.0.7:51234"},
                {"header", "Bearer abc.def"},
                {"X-Api-Key", "xk-123456"},
                {"nested", LogValue::Object({{"refresh_token", "rt-1"}, {"ok", 1}})}});
  logger->Flush();
  const std::string out = sink_->Contents();
  for (const char* secret :
       {"k-9f8e7d6c5b4a", "dXNlcjpodW50ZXIy", "abc.def", "xk-123456", "rt-1"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " leaked: " << out;
  }
  const Json j = Parse(Lines().at(0));
  const Json* context = j.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Str("api_key"), "[REDACTED]");
  EXPECT_EQ(context->Str("Authorization"), "[REDACTED]");
  EXPECT_EQ(context->Str("header"), "Bearer [REDACTED]");
  EXPECT_EQ(context->Str("peer"), "ipv4:10.0.0.7:51234");
  EXPECT_EQ(context->Find("nested")->Str("refresh_token"), "[REDACTED]");
}

TEST_F(LoggerTest, ConfiguredRedactKeysAndKnownSecrets) {
  LoggerOptions options;
  options.redact_keys = {"customer_name"};
  options.known_secrets = {"dev-admin-key-0123456789"};
  auto logger = Start(std::move(options));
  logger->Info("admin", "admin.mutation", "upsert",
               {{"Customer-Name", "Alice"}, {"note", "used dev-admin-key-0123456789"}});
  logger->Flush();
  const std::string out = sink_->Contents();
  EXPECT_EQ(out.find("Alice"), std::string::npos) << out;
  EXPECT_EQ(out.find("dev-admin-key"), std::string::npos) << out;
  const Json record = Parse(Lines().at(0));
  const Json* context = record.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Str("Customer-Name"), "[REDACTED]");
  EXPECT_EQ(context->Str("note"), "used [REDACTED]");
}

TEST_F(LoggerTest, LibraryMessagesAndCausesAreRedacted) {
  auto logger = Start();
  logger->Warn("nats", "nats.connect_failed", "connect to nats://bob:pw@n1:4222 failed")
      .MessageFromLibrary();
  absl::Status cause =
      MakeError(absl::StatusCode::kUnavailable, "dial failed: token=abc123", "unavailable");
  logger->Error("jetstream", "jetstream.stream_error", "stream update failed").Cause(cause);
  logger->Flush();
  const std::vector<Json> records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].Str("message"), "connect to nats://***@n1:4222 failed");
  EXPECT_EQ(records[1].Str("error_code"), "unavailable");
  ASSERT_NE(records[1].Find("context"), nullptr);
  EXPECT_EQ(records[1].Find("context")->Str("error"), "dial failed: token=[REDACTED]");
  EXPECT_EQ(records[1].Find("context")->Str("status_code"), "UNAVAILABLE");
}

// ---------------------------------------------------------------- file output (`[log]`)

class LoggerFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/logger_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(LoggerFileTest, AppendsAndReopensAfterRotation) {
  const std::filesystem::path path = dir_ / "router.log";
  { std::ofstream(path) << "existing line\n"; }
  LoggerOptions options;
  options.output = LogOutput::kFile;
  options.file = path.string();
  auto logger = Logger::Create(std::move(options));
  ASSERT_TRUE(logger.ok()) << logger.status();

  (*logger)->Info("main", "router.starting", "before rotation");
  (*logger)->Flush();
  std::filesystem::rename(path, dir_ / "router.log.1");  // logrotate
  ASSERT_TRUE((*logger)->Reopen().ok());                 // SIGHUP
  (*logger)->Info("main", "router.ready", "after rotation");
  (*logger)->Stop();

  const std::string rotated = ReadFile(dir_ / "router.log.1");
  EXPECT_EQ(rotated.rfind("existing line\n", 0), 0u) << "appends, never truncates";
  EXPECT_NE(rotated.find("before rotation"), std::string::npos);
  EXPECT_EQ(rotated.find("after rotation"), std::string::npos);
  const std::string fresh = ReadFile(path);
  EXPECT_NE(fresh.find("after rotation"), std::string::npos);
  EXPECT_EQ(fresh.find("before rotation"), std::string::npos);
  EXPECT_EQ(std::count(fresh.begin(), fresh.end(), '\n'), 1);
}

TEST_F(LoggerTest, ReopenIsPassedToTheSink) {
  auto logger = Start();
  EXPECT_TRUE(logger->Reopen().ok());
  EXPECT_EQ(sink_->ReopenCount(), 1);
}

TEST_F(LoggerFileTest, ReopenFailureKeepsLogging) {
  const std::filesystem::path sub = dir_ / "sub";
  std::filesystem::create_directory(sub);
  LoggerOptions options;
  options.output = LogOutput::kFile;
  options.file = (sub / "router.log").string();
  auto logger = Logger::Create(std::move(options));
  ASSERT_TRUE(logger.ok());
  std::filesystem::remove_all(sub);
  const absl::Status reopened = (*logger)->Reopen();
  EXPECT_EQ(reopened.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(StdView(reopened.message())).find("router.log"), std::string::npos);
  (*logger)->Info("main", "router.ready", "still fine");
  (*logger)->Flush();
  EXPECT_EQ((*logger)->Counters().Records(LogLevel::kInfo), 1u);  // into the old (unlinked) file
}

TEST_F(LoggerFileTest, OptionErrors) {
  LoggerOptions missing_file;
  missing_file.output = LogOutput::kFile;
  EXPECT_EQ(Logger::Create(std::move(missing_file)).status().code(),
            absl::StatusCode::kInvalidArgument);

  LoggerOptions unopenable;
  unopenable.output = LogOutput::kFile;
  unopenable.file = (dir_ / "no" / "such" / "dir.log").string();
  EXPECT_EQ(Logger::Create(std::move(unopenable)).status().code(), absl::StatusCode::kUnavailable);

  LoggerOptions zero_queue;
  zero_queue.queue_capacity = 0;
  EXPECT_EQ(Logger::Create(std::move(zero_queue)).status().code(),
            absl::StatusCode::kInvalidArgument);

  LoggerOptions zero_burst;
  zero_burst.rate_limit_burst = 0;
  EXPECT_EQ(Logger::Create(std::move(zero_burst)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LoggerTest, SmallRecordLimitActsAs1024) {
  // configuration.md only requires log.max_record_bytes >= 1; the logger keeps 1024 as a floor
  // so the fixed keys always fit.
  LoggerOptions options;
  options.max_record_bytes = 100;
  auto logger = Start(std::move(options));
  logger->Info("main", "router.ready", "ready", {{"big", std::string(3000, 'b')}});
  logger->Flush();
  ASSERT_EQ(Lines().size(), 1u);
  EXPECT_LE(Lines()[0].size(), 1024u);
  const Json j = Parse(Lines()[0]);
  EXPECT_EQ(j.Str("event"), "router.ready");
  ASSERT_NE(j.Find("context"), nullptr);
  EXPECT_TRUE(j.Find("context")->Has("record_truncated"));
}

// ---------------------------------------------------------------- global logger

TEST_F(LoggerTest, GlobalLoggerDefaultsThenInstalled) {
  Logger& fallback = GlobalLogger();
  EXPECT_EQ(fallback.Level(), LogLevel::kInfo);
  EXPECT_EQ(&GlobalLogger(), &fallback);

  auto logger = Start();
  EXPECT_EQ(SetGlobalLogger(logger.get()), nullptr);
  EXPECT_EQ(&GlobalLogger(), logger.get());
  GlobalLogger().Info("main", "router.ready", "via global");
  logger->Flush();
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0].Str("message"), "via global");

  EXPECT_EQ(SetGlobalLogger(nullptr), logger.get());
  EXPECT_EQ(&GlobalLogger(), &fallback);
}

}  // namespace
}  // namespace router::obs
