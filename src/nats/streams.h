#pragma once
// StreamManager: the five JetStream streams of nats-contracts.md §6.1 (assignments, results,
// acks, usage, dlq) with the settings of configuration.md [nats.jetstream.streams.<role>], and
// the §1 check that no stream captures the decide subject.
//
// With `manage_streams = true` a missing stream is created (a racing replica's "already
// exists" is success) and a missing required subject is added; nothing else is ever changed and
// no stream is deleted: any other difference (limits, duplicate window, storage, retention,
// discard, replicas, extra subjects) is drift, logged once per change (`router_jetstream_
// stream_config_drift`). With `false` streams are only verified. A missing stream or an
// uncovered subject makes Ensure() not ready; the transport retries every 10 s and after each
// reconnect.
//
// All settings are fixed by the spec: retention limits, file storage, discard old (usage: new),
// num_replicas = nats.jetstream.replicas. Thread-compatible: called from the transport's
// control thread only; the jsCtx is cnats' (thread-safe).

#include <nats/nats.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "nats/log_sink.h"
#include "nats/nats_stats.h"

namespace router::nats_adapter {

struct StreamSpec {
  std::string role;  // assignments | results | acks | usage | dlq
  std::string name;
  std::vector<std::string> subjects;
  int64_t max_age_s = 0;
  int64_t max_bytes = 0;
  int64_t duplicate_window_s = 120;
  int64_t replicas = 1;
  bool discard_new = false;  // usage: refuse new messages instead of dropping old ones
};

// The five streams in §6.1 order; subjects derived as configuration.md §2 says when the
// config list is empty (a Config from LoadConfig() already carries the derived lists).
std::vector<StreamSpec> StreamSpecs(const config::NatsConfig& config);

// The comparison of one existing stream with its spec.
struct StreamCheck {
  std::vector<std::string> missing_subjects;  // required subjects no stream subject covers
  std::vector<std::string> drift;             // e.g. "max_age: want 3600s, have 60s"
};
StreamCheck CompareStream(const StreamSpec& spec, const jsStreamConfig& actual);

struct EnsureResult {
  bool ready = false;  // every stream exists and covers its required subjects
  std::vector<std::string> created;
  std::vector<std::string> updated;                       // subjects added
  std::map<std::string, std::vector<std::string>> drift;  // stream -> differences
  std::string problem;  // first reason for not ready ("" when ready)
};

class StreamManager {
 public:
  // `stats` must outlive the manager.
  StreamManager(const config::NatsConfig& config, NatsStats& stats, LogSink log);

  // Creates / completes (managing) or verifies the streams. Never fails hard: API errors and
  // missing streams are reported in `problem` with ready = false.
  EnsureResult Ensure(jsCtx* js);

  // Names of the streams whose subjects match the literal `subject`. UNAVAILABLE / INTERNAL
  // when the stream list cannot be read; an account without JetStream has none.
  absl::StatusOr<std::vector<std::string>> StreamsCapturing(jsCtx* js, std::string_view subject);

  const std::vector<StreamSpec>& specs() const { return specs_; }

 private:
  jsStreamConfig ToJs(const StreamSpec& spec, std::vector<const char*>& subjects) const;

  const std::vector<StreamSpec> specs_;
  const bool manage_;
  NatsStats& stats_;
  const LogSink log_;
  std::map<std::string, std::vector<std::string>> last_drift_;  // log only changes
};

}  // namespace router::nats_adapter
