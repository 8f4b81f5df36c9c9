#include "obs/logging/logger.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/errors.h"

namespace router::obs {
namespace {

constexpr size_t kBatchBytes = 64 * 1024;

size_t Index(LogLevel level) { return static_cast<size_t>(level); }

std::string SuppressedMessage(const LogRateLimiter::Summary& s) {
  return "suppressed " + std::to_string(s.suppressed) + " records of " + s.event;
}

// window_s as an integer when the window is whole seconds.
LogValue WindowSeconds(int64_t window_ms) {
  if (window_ms % 1000 == 0) return LogValue(window_ms / 1000);
  return LogValue(static_cast<double>(window_ms) / 1000.0);
}

}  // namespace

// ---------------------------------------------------------------- LogBuilder

LogBuilder::LogBuilder(Logger* logger, LogLevel level, std::string_view subsystem,
                       std::string_view event, std::string_view message,
                       std::initializer_list<LogField> context)
    : logger_(logger) {
  record_.emplace();
  record_->level = level;
  record_->subsystem.assign(subsystem);
  record_->event.assign(event);
  record_->message.assign(message);
  record_->context.assign(context.begin(), context.end());
}

void LogBuilder::SetNumber(CorrelationKey key, int64_t v) { record_->SetCorrelation(key, v); }

void LogBuilder::SetText(CorrelationKey key, std::string_view v) {
  if (!IsIntegerCorrelationKey(key)) {
    record_->SetCorrelation(key, v);
    return;
  }
  if (v.empty()) return;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > (INT64_MAX - 9) / 10) return;  // not an integer: left out
    n = n * 10 + (c - '0');
  }
  record_->SetCorrelation(key, n);
}

LogBuilder& LogBuilder::Fields(std::initializer_list<LogField> fields) {
  if (record_.has_value()) record_->context.insert(record_->context.end(), fields);
  return *this;
}

LogBuilder& LogBuilder::Cause(const absl::Status& status) {
  if (!record_.has_value() || status.ok()) return *this;
  if (record_->FindCorrelation(CorrelationKey::kErrorCode) == nullptr) {
    record_->SetCorrelation(CorrelationKey::kErrorCode, ErrorTag(status));
  }
  record_->context.push_back(LogField{"error", LogValue(StdView(status.message()))});
  record_->context.push_back(
      LogField{"status_code", LogValue(absl::StatusCodeToString(status.code()))});
  return *this;
}

LogBuilder& LogBuilder::MessageFromLibrary() {
  if (record_.has_value()) record_->message_from_library = true;
  return *this;
}

LogBuilder& LogBuilder::NoRateLimit() {
  if (record_.has_value()) record_->rate_limit_exempt = true;
  return *this;
}

bool LogBuilder::Submit() {
  Logger* logger = std::exchange(logger_, nullptr);
  if (logger == nullptr || !record_.has_value()) return false;
  const bool queued = logger->Log(std::move(*record_));
  record_.reset();
  return queued;
}

// ---------------------------------------------------------------- Logger: setup

absl::StatusOr<std::unique_ptr<Logger>> Logger::Create(LoggerOptions options) {
  if (options.queue_capacity < 1) {
    return absl::InvalidArgumentError("log.queue_capacity must be at least 1");
  }
  if (options.rate_limit_burst < 1) {
    return absl::InvalidArgumentError("log.rate_limit_burst must be at least 1");
  }
  if (options.rate_limit_interval_ms < 1) {
    return absl::InvalidArgumentError("log.rate_limit_interval_ms must be at least 1");
  }
  std::unique_ptr<LogSink> sink = std::move(options.sink);
  if (sink == nullptr) {
    switch (options.output) {
      case LogOutput::kStdout:
        sink = NewStdoutSink();
        break;
      case LogOutput::kStderr:
        sink = NewStderrSink();
        break;
      case LogOutput::kFile: {
        if (options.file.empty()) {
          return absl::InvalidArgumentError("log.file is required when log.output is \"file\"");
        }
        absl::StatusOr<std::unique_ptr<LogSink>> file = NewFileSink(options.file);
        if (!file.ok()) return file.status();
        sink = std::move(*file);
        break;
      }
    }
  }
  return std::unique_ptr<Logger>(new Logger(std::move(options), std::move(sink)));
}

Logger::Logger(LoggerOptions options, std::unique_ptr<LogSink> sink)
    : clock_(options.clock),
      redactor_(RedactionOptions{options.redact_keys, options.known_secrets}),
      format_(FormatOptions{options.max_record_bytes, 2048, options.node_id}),
      rate_limit_max_level_(options.rate_limit_max_level),
      sink_(std::move(sink)),
      fatal_sink_(options.fatal_sink != nullptr ? std::move(options.fatal_sink) : NewStderrSink()),
      queue_(options.queue_capacity),
      level_(static_cast<uint8_t>(options.level)),
      rate_limit_burst_(options.rate_limit_burst),
      rate_limit_interval_ms_(options.rate_limit_interval_ms),
      limiter_(options.rate_limit_max_keys) {
  {
    absl::MutexLock lock(&mu_);
    writer_running_ = true;
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

Logger::~Logger() { Stop(); }

void Logger::SetLevel(LogLevel level) {
  level_.store(static_cast<uint8_t>(level), std::memory_order_relaxed);
}

LogLevel Logger::Level() const {
  return static_cast<LogLevel>(level_.load(std::memory_order_relaxed));
}

void Logger::SetRateLimit(uint32_t burst, int64_t interval_ms) {
  rate_limit_burst_.store(std::max<uint32_t>(burst, 1), std::memory_order_relaxed);
  rate_limit_interval_ms_.store(std::max<int64_t>(interval_ms, 1), std::memory_order_relaxed);
}

int64_t Logger::WallNowUs() const {
  if (clock_ != nullptr) return clock_->WallMs() * 1000;
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Logger::MonoNowNs() const {
  if (clock_ != nullptr) return clock_->MonoNow().count();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- Logger: callers

bool Logger::Log(LogRecord record) {
  if (!Enabled(record.level)) return false;
  if (record.timestamp_us == 0) record.timestamp_us = WallNowUs();
  if (record.mono_ns == 0) record.mono_ns = MonoNowNs();
  if (record.event == kFatalEvent) {
    WriteFatal(record);
    return true;
  }
  const size_t level = Index(record.level);
  if (!accepting_.load(std::memory_order_acquire) || !queue_.TryPush(&record)) {
    counters_.dropped[level].fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Sleep/wake handshake (Dekker): TryPush's seq_cst store, then this seq_cst load; the writer
  // stores writer_sleeping_ (seq_cst), then re-checks the queue (seq_cst load). In the single
  // total order, either the writer sees the record before sleeping or we see it asleep and
  // wake it under its mutex. The mutex is taken only when the writer is idle.
  if (writer_sleeping_.load(std::memory_order_seq_cst)) {
    absl::MutexLock lock(&mu_);
    wake_cv_.Signal();
  }
  return true;
}

void Logger::WriteFatal(const LogRecord& record) {
  const std::string line = FormatRecordLine(record, redactor_, format_);
  if (fatal_sink_->Write(line).ok()) {
    counters_.records[Index(record.level)].fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

void Logger::Flush() {
  absl::MutexLock lock(&mu_);
  if (!writer_running_) return;
  const uint64_t ticket = ++flush_requested_;
  wake_cv_.Signal();
  while (writer_running_ && flush_done_ < ticket) done_cv_.Wait(&mu_);
}

void Logger::Stop() {
  std::call_once(stop_once_, [this] {
    accepting_.store(false, std::memory_order_release);
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      wake_cv_.Signal();
    }
    writer_.join();
    // Records that raced with the writer's last drain: written here, the writer being gone.
    DrainQueue();
    limiter_.SweepAll(&summaries_);
    EmitSummaries();
    WriteBatch();
  });
}

absl::Status Logger::Reopen() { return sink_->Reopen(); }

void Logger::PauseWriterForTest() {
  absl::MutexLock lock(&mu_);
  pause_requested_ = true;
  wake_cv_.Signal();
  while (writer_running_ && !parked_) done_cv_.Wait(&mu_);
}

void Logger::ResumeWriterForTest() {
  absl::MutexLock lock(&mu_);
  pause_requested_ = false;
  wake_cv_.Signal();
}

// ---------------------------------------------------------------- Logger: writer thread

void Logger::WriterLoop() {
  for (;;) {
    uint64_t flush_target = 0;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      if (pause_requested_ && !stopping_) {
        parked_ = true;
        done_cv_.SignalAll();
        while (pause_requested_ && !stopping_) wake_cv_.Wait(&mu_);
        parked_ = false;
      }
      flush_target = flush_requested_;
      stopping = stopping_;
    }

    DrainQueue();
    if (stopping) {
      limiter_.SweepAll(&summaries_);
    } else {
      limiter_.Sweep(MonoNowNs(), &summaries_);
    }
    EmitSummaries();
    WriteBatch();

    absl::MutexLock lock(&mu_);
    if (stopping && queue_.LooksEmpty()) {
      writer_running_ = false;
      flush_done_ = flush_requested_;
      done_cv_.SignalAll();
      return;
    }
    if (flush_target > flush_done_) {
      flush_done_ = flush_target;
      done_cv_.SignalAll();
    }
    if (stopping_ || pause_requested_ || flush_requested_ > flush_done_) continue;
    writer_sleeping_.store(true, std::memory_order_seq_cst);
    if (queue_.LooksEmpty()) {
      const std::optional<int64_t> deadline = limiter_.NextDeadlineNs();
      if (deadline.has_value()) {
        // A rate-limit window with suppressed records closes then: wake to summarise it.
        const int64_t wait_ns =
            std::clamp<int64_t>(*deadline - MonoNowNs(), 1'000'000, 1'000'000'000);
        wake_cv_.WaitWithTimeout(&mu_, absl::Nanoseconds(wait_ns));
      } else {
        wake_cv_.Wait(&mu_);
      }
    }
    writer_sleeping_.store(false, std::memory_order_relaxed);
  }
}

void Logger::DrainQueue() {
  LogRecord record;
  for (size_t n = 0; n < queue_.Capacity() && queue_.TryPop(&record); ++n) {
    Process(record);
    if (batch_.size() >= kBatchBytes) WriteBatch();
  }
}

void Logger::Process(const LogRecord& record) {
  const bool limited = !record.rate_limit_exempt && record.event != kSuppressedEvent &&
                       Index(record.level) <= Index(rate_limit_max_level_);
  if (limited) {
    const CorrelationValue* error_code = record.FindCorrelation(CorrelationKey::kErrorCode);
    const bool admitted = limiter_.Admit(
        record.event, record.subsystem, error_code != nullptr ? error_code->text : "", record.level,
        record.mono_ns, rate_limit_burst_.load(std::memory_order_relaxed),
        rate_limit_interval_ms_.load(std::memory_order_relaxed), &summaries_);
    EmitSummaries();  // a closed window's summary comes before the record that closed it
    if (!admitted) {
      counters_.suppressed[Index(record.level)].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  AppendRecordLine(record, redactor_, format_, &batch_);
  ++batch_counts_[Index(record.level)];
  ++batch_lines_;
}

void Logger::EmitSummaries() {
  for (const LogRateLimiter::Summary& s : summaries_) {
    LogRecord record;
    record.level = LogLevel::kWarn;
    record.timestamp_us = WallNowUs();
    record.subsystem = s.subsystem;
    record.event = kSuppressedEvent;
    record.message = SuppressedMessage(s);
    if (!s.error_code.empty()) record.SetCorrelation(CorrelationKey::kErrorCode, s.error_code);
    record.context.push_back(LogField{"of_event", LogValue(s.event)});
    record.context.push_back(LogField{"suppressed", LogValue(s.suppressed)});
    record.context.push_back(LogField{"window_s", WindowSeconds(s.window_ms)});
    AppendRecordLine(record, redactor_, format_, &batch_);
    ++batch_counts_[Index(LogLevel::kWarn)];
    ++batch_lines_;
  }
  summaries_.clear();
}

void Logger::WriteBatch() {
  if (batch_.empty()) return;
  if (sink_->Write(batch_).ok()) {
    for (size_t i = 0; i < batch_counts_.size(); ++i) {
      counters_.records[i].fetch_add(batch_counts_[i], std::memory_order_relaxed);
    }
  } else {
    counters_.write_failures.fetch_add(batch_lines_, std::memory_order_relaxed);
  }
  batch_.clear();
  batch_counts_.fill(0);
  batch_lines_ = 0;
}

// ---------------------------------------------------------------- global logger

namespace {

std::atomic<Logger*> g_installed{nullptr};
std::atomic<Logger*> g_default{nullptr};

Logger& DefaultLogger() {
  // Never destroyed (records logged during static destruction stay safe); stopped and drained
  // at exit so early records (e.g. a config error before exit) are not lost.
  static Logger* const logger = [] {
    absl::StatusOr<std::unique_ptr<Logger>> created = Logger::Create(LoggerOptions{});
    Logger* l = created->release();  // stdout cannot fail to open
    g_default.store(l, std::memory_order_release);
    std::atexit([] { g_default.load(std::memory_order_acquire)->Stop(); });
    return l;
  }();
  return *logger;
}

}  // namespace

Logger& GlobalLogger() {
  Logger* installed = g_installed.load(std::memory_order_acquire);
  return installed != nullptr ? *installed : DefaultLogger();
}

Logger* SetGlobalLogger(Logger* logger) {
  Logger* previous = g_installed.exchange(logger, std::memory_order_acq_rel);
  if (previous == nullptr && logger != nullptr) {
    if (Logger* default_logger = g_default.load(std::memory_order_acquire)) default_logger->Flush();
  }
  return previous;
}

}  // namespace router::obs
