#pragma once
// Logger: the structured JSON logger of OBS §5 (record format §5.1, levels §5.2, redaction
// §5.3, rate limiting and delivery §5.4) configured by `[log]` (configuration.md §2).
//
// Delivery (O1, never on the critical path): a call site builds a LogRecord on its own thread
// and moves it into a bounded lock-free queue (`queue_capacity`); one writer thread rate-limits,
// redacts, serializes and writes. A caller never waits and does no I/O: when the queue is full
// the record is dropped and counted. The only lock a caller touches is the writer's mutex, for
// the moment of waking an idle writer (never held across I/O). A disabled level costs one
// relaxed atomic load (Enabled()) and builds nothing. `router.fatal` is the exception: it is
// written synchronously to stderr by the caller.
//
//   logger.Info("main", "router.listening", "listening", {{"grpc_port", 9000}});
//   logger.Error("outbox", "assignment.publish_failed", "assignment publish failed")
//       .AssignmentId(id).RequestId(request).TenantId(tenant).Field("reason", why);
//
// The value returned by Error/Warn/Info/Debug/At is a LogBuilder that submits its record when
// it goes out of scope (at the end of the statement for a temporary).
//
// Process-global: GlobalLogger() returns the logger installed with SetGlobalLogger(), or until
// then a default stdout logger at INFO (so the process can log before its config is loaded).
//
// Thread-safety: every public member may be called from any thread (Stop() runs once; later
// or concurrent callers wait for it). The destructor must not race with other calls.

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "obs/logging/log_record.h"
#include "obs/logging/log_sink.h"
#include "obs/logging/log_value.h"
#include "obs/logging/rate_limiter.h"
#include "obs/logging/record_format.h"
#include "obs/logging/record_queue.h"
#include "obs/logging/redaction.h"

namespace router::obs {

inline constexpr std::string_view kFatalEvent = "router.fatal";
inline constexpr std::string_view kSuppressedEvent = "log.suppressed";

// The `[log]` table plus what the application knows besides it.
struct LoggerOptions {
  LogLevel level = LogLevel::kInfo;        // log.level
  LogOutput output = LogOutput::kStdout;   // log.output
  std::string file;                        // log.file (output == kFile)
  size_t queue_capacity = 8192;            // log.queue_capacity, >= 1
  size_t max_record_bytes = 16384;         // log.max_record_bytes; below 1024 acts as 1024
  uint32_t rate_limit_burst = 10;          // log.rate_limit_burst, >= 1
  int64_t rate_limit_interval_ms = 10000;  // log.rate_limit_interval_ms, >= 1
  std::vector<std::string> redact_keys;    // log.redact_keys
  // §5.3 known secrets (admin keys, NATS password/token, OTLP header values).
  std::vector<std::string> known_secrets;
  // node_id written on every record that does not set one; empty = none.
  std::string node_id;
  // Records at this level or more severe are rate limited (§5.4); INFO lifecycle events and
  // DEBUG are not by default. A record can opt out with LogBuilder::NoRateLimit().
  LogLevel rate_limit_max_level = LogLevel::kWarn;
  size_t rate_limit_max_keys = 4096;
  // Not owned; must outlive the logger. Null = the system clocks, with microsecond timestamps;
  // an injected clock gives WallMs() * 1000 (millisecond resolution), and drives rate limiting.
  const Clock* clock = nullptr;
  // Replaces output/file (tests, or an application-made sink).
  std::unique_ptr<LogSink> sink;
  // Where `router.fatal` goes synchronously; null = stderr.
  std::unique_ptr<LogSink> fatal_sink;
};

// Counters for the metrics registry (OBS §2.5), indexed by static_cast<int>(LogLevel):
// router_log_records_total{level} (written), router_log_suppressed_total{level} (rate limited),
// router_log_dropped_total{level} (queue full, or logged after Stop). Read them with relaxed
// loads at scrape time.
struct LogCounters {
  std::array<std::atomic<uint64_t>, kNumLogLevels> records{};
  std::array<std::atomic<uint64_t>, kNumLogLevels> suppressed{};
  std::array<std::atomic<uint64_t>, kNumLogLevels> dropped{};
  // Lines lost because the sink failed (not a spec metric).
  std::atomic<uint64_t> write_failures{0};

  uint64_t Records(LogLevel level) const { return Load(records, level); }
  uint64_t Suppressed(LogLevel level) const { return Load(suppressed, level); }
  uint64_t Dropped(LogLevel level) const { return Load(dropped, level); }

 private:
  static uint64_t Load(const std::array<std::atomic<uint64_t>, kNumLogLevels>& counters,
                       LogLevel level) {
    return counters[static_cast<size_t>(level)].load(std::memory_order_relaxed);
  }
};

class Logger;

// Builds one record and hands it to the logger when destroyed (or at Submit()). Inert (builds
// nothing) when its level was disabled. Move-only.
class LogBuilder {
 public:
  LogBuilder(LogBuilder&& other) noexcept
      : logger_(std::exchange(other.logger_, nullptr)), record_(std::move(other.record_)) {
    other.record_.reset();
  }
  LogBuilder(const LogBuilder&) = delete;
  LogBuilder& operator=(const LogBuilder&) = delete;
  LogBuilder& operator=(LogBuilder&&) = delete;
  ~LogBuilder() {
    if (record_.has_value()) Submit();
  }

  // False when the level is disabled: every setter is then a no-op.
  bool Enabled() const { return record_.has_value(); }

  // Correlation keys (§5.1); an empty string leaves the key out.
  LogBuilder& NodeId(std::string_view v) { return Correlation(CorrelationKey::kNodeId, v); }
  LogBuilder& TenantId(std::string_view v) { return Correlation(CorrelationKey::kTenantId, v); }
  LogBuilder& PolicyId(std::string_view v) { return Correlation(CorrelationKey::kPolicyId, v); }
  LogBuilder& PolicyVersion(int64_t v) {
    if (record_.has_value()) SetNumber(CorrelationKey::kPolicyVersion, v);
    return *this;
  }
  LogBuilder& ProviderId(std::string_view v) { return Correlation(CorrelationKey::kProviderId, v); }
  LogBuilder& RequestId(std::string_view v) { return Correlation(CorrelationKey::kRequestId, v); }
  LogBuilder& DecisionId(std::string_view v) { return Correlation(CorrelationKey::kDecisionId, v); }
  LogBuilder& AssignmentId(std::string_view v) {
    return Correlation(CorrelationKey::kAssignmentId, v);
  }
  LogBuilder& CorrelationId(std::string_view v) {
    return Correlation(CorrelationKey::kCorrelationId, v);
  }
  LogBuilder& TraceId(std::string_view v) { return Correlation(CorrelationKey::kTraceId, v); }
  LogBuilder& SpanId(std::string_view v) { return Correlation(CorrelationKey::kSpanId, v); }
  LogBuilder& RunId(std::string_view v) { return Correlation(CorrelationKey::kRunId, v); }
  LogBuilder& FlowId(std::string_view v) { return Correlation(CorrelationKey::kFlowId, v); }
  LogBuilder& StepId(std::string_view v) { return Correlation(CorrelationKey::kStepId, v); }
  LogBuilder& ErrorCode(std::string_view v) { return Correlation(CorrelationKey::kErrorCode, v); }
  LogBuilder& LatencyMs(int64_t ms) {
    if (record_.has_value()) SetNumber(CorrelationKey::kLatencyMs, ms);
    return *this;
  }
  // Any key; for policy_version / latency_ms `v` must be a decimal integer (else left out).
  LogBuilder& Correlation(CorrelationKey key, std::string_view v) {
    if (record_.has_value()) SetText(key, v);
    return *this;
  }

  // One `context` field; the value is converted only when the level is enabled.
  template <typename T>
  LogBuilder& Field(std::string_view key, T&& value) {
    if (record_.has_value()) {
      if (record_->context.empty()) record_->context.reserve(4);
      record_->context.push_back(LogField{std::string(key), LogValue(std::forward<T>(value))});
    }
    return *this;
  }
  LogBuilder& Fields(std::initializer_list<LogField> fields);

  // A failed status from a library or another layer: error_code = its tag (base/errors.h,
  // unless already set) and context `error` (its message, redacted like any context value)
  // and `status_code` (e.g. "UNAVAILABLE"). No-op for OK.
  LogBuilder& Cause(const absl::Status& status);
  // The message text came from a library error: apply the §5.3 value patterns to it.
  LogBuilder& MessageFromLibrary();
  // Never rate limit this record (lifecycle events, §5.4).
  LogBuilder& NoRateLimit();

  // Hands the record over now; later calls and the destructor do nothing. True when queued
  // (or, for router.fatal, written).
  bool Submit();

 private:
  friend class Logger;
  LogBuilder() = default;  // inert: the level is disabled
  void SetText(CorrelationKey key, std::string_view v);
  void SetNumber(CorrelationKey key, int64_t v);
  // REQUIRES: logger->Enabled(level).
  LogBuilder(Logger* logger, LogLevel level, std::string_view subsystem, std::string_view event,
             std::string_view message, std::initializer_list<LogField> context);

  Logger* logger_ = nullptr;
  std::optional<LogRecord> record_;
};

class Logger {
 public:
  // Validates the options, opens the output and starts the writer thread. INVALID_ARGUMENT for
  // a zero queue_capacity, rate_limit_burst or rate_limit_interval_ms or a missing file name,
  // UNAVAILABLE when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<Logger>> Create(LoggerOptions options);

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;
  ~Logger();  // Stop()

  // The hot-path check: one relaxed load.
  bool Enabled(LogLevel level) const {
    return static_cast<uint8_t>(level) <= level_.load(std::memory_order_relaxed);
  }
  // Runtime changes (SIGHUP applies log.level and log.rate_limit_*).
  void SetLevel(LogLevel level);
  LogLevel Level() const;
  void SetRateLimit(uint32_t burst, int64_t interval_ms);

  LogBuilder Error(std::string_view subsystem, std::string_view event, std::string_view message,
                   std::initializer_list<LogField> context = {}) {
    return At(LogLevel::kError, subsystem, event, message, context);
  }
  LogBuilder Warn(std::string_view subsystem, std::string_view event, std::string_view message,
                  std::initializer_list<LogField> context = {}) {
    return At(LogLevel::kWarn, subsystem, event, message, context);
  }
  LogBuilder Info(std::string_view subsystem, std::string_view event, std::string_view message,
                  std::initializer_list<LogField> context = {}) {
    return At(LogLevel::kInfo, subsystem, event, message, context);
  }
  LogBuilder Debug(std::string_view subsystem, std::string_view event, std::string_view message,
                   std::initializer_list<LogField> context = {}) {
    return At(LogLevel::kDebug, subsystem, event, message, context);
  }
  LogBuilder At(LogLevel level, std::string_view subsystem, std::string_view event,
                std::string_view message, std::initializer_list<LogField> context = {}) {
    if (!Enabled(level)) return LogBuilder();  // inline: a disabled level builds nothing
    return LogBuilder(this, level, subsystem, event, message, context);
  }

  // Queues a prepared record (stamping timestamp_us / mono_ns when 0). False when its level is
  // disabled or it was dropped (queue full, or after Stop). Never blocks, except router.fatal,
  // which is written synchronously to the fatal sink (stderr).
  bool Log(LogRecord record);

  // Returns once every record queued before the call is written (including summaries of
  // rate-limit windows closed by now). REQUIRES: the writer is not paused by the test hook.
  void Flush();
  // Drains the queue, writes every pending `log.suppressed` summary, stops the writer.
  // Records logged afterwards are dropped and counted. Idempotent.
  void Stop();
  // Reopens the output file (SIGHUP, after logrotate renamed it). On error the old file stays
  // in use. OK and a no-op for stdout/stderr.
  absl::Status Reopen();

  const LogCounters& Counters() const { return counters_; }

  // Test hooks. Pause returns once the writer is parked between batches; records stay queued
  // until Resume.
  void PauseWriterForTest();
  void ResumeWriterForTest();

 private:
  explicit Logger(LoggerOptions options, std::unique_ptr<LogSink> sink);

  int64_t WallNowUs() const;
  int64_t MonoNowNs() const;

  // Writer thread.
  void WriterLoop();
  void DrainQueue();
  void Process(const LogRecord& record);
  void EmitSummaries();
  void WriteBatch();
  void WriteFatal(const LogRecord& record);

  const Clock* const clock_;
  const Redactor redactor_;
  const FormatOptions format_;
  const LogLevel rate_limit_max_level_;
  std::unique_ptr<LogSink> sink_;
  std::unique_ptr<LogSink> fatal_sink_;
  RecordQueue queue_;
  LogCounters counters_;

  // relaxed: a threshold; a caller seeing the old level for a moment after SetLevel is fine.
  std::atomic<uint8_t> level_;
  // relaxed: read by the writer for each limited record; no other data depends on them.
  std::atomic<uint32_t> rate_limit_burst_;
  std::atomic<int64_t> rate_limit_interval_ms_;
  // release (Stop) / acquire (Log): once Stop has begun, new records are dropped and counted.
  std::atomic<bool> accepting_{true};
  // seq_cst: the sleep/wake handshake with RecordQueue::TryPush / LooksEmpty (logger.cc).
  std::atomic<bool> writer_sleeping_{false};

  absl::Mutex mu_;
  absl::CondVar wake_cv_;  // the writer waits here
  absl::CondVar done_cv_;  // Flush/Pause callers wait here
  uint64_t flush_requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flush_done_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_running_ ABSL_GUARDED_BY(mu_) = false;
  bool pause_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool parked_ ABSL_GUARDED_BY(mu_) = false;
  std::once_flag stop_once_;  // Stop() runs once; concurrent callers wait for it

  // Writer-thread state (after Stop, the stopping thread's).
  LogRateLimiter limiter_;
  std::vector<LogRateLimiter::Summary> summaries_;
  std::string batch_;
  std::array<uint64_t, kNumLogLevels> batch_counts_{};
  uint64_t batch_lines_ = 0;

  std::thread writer_;
};

// The installed logger, or the default stdout INFO logger (created on first use, stopped and
// drained at exit).
Logger& GlobalLogger();
// Installs `logger` (not owned; it must outlive its installation) and returns the previous one
// (nullptr = the default). nullptr restores the default. Flushes the default logger when
// leaving it, so early records come out first.
Logger* SetGlobalLogger(Logger* logger);

}  // namespace router::obs
