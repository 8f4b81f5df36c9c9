#include "nats/streams.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "nats/connection.h"
#include "nats/subjects.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000LL;

// Index of router_jetstream_stream_ensure_total's `result` in NatsStats::stream_ensure.
enum class EnsureCount : size_t { kCreated, kUpdated, kUnchanged, kError };

StreamSpec Spec(std::string role, const config::StreamConfig& s, std::vector<std::string> derived,
                int64_t replicas, bool discard_new) {
  StreamSpec spec;
  spec.role = std::move(role);
  spec.name = s.name;
  spec.subjects = s.subjects.empty() ? std::move(derived) : s.subjects;
  spec.max_age_s = s.max_age_s;
  spec.max_bytes = s.max_bytes;
  spec.duplicate_window_s = s.duplicate_window_s;
  spec.replicas = replicas;
  spec.discard_new = discard_new;
  return spec;
}

std::string Seconds(int64_t nanos) { return std::to_string(nanos / kNanosPerSecond) + "s"; }

bool IsNotFound(natsStatus s, jsErrCode err) {
  return s == NATS_NOT_FOUND || err == JSStreamNotFoundErr;
}

std::string JsError(natsStatus s, jsErrCode err, std::string_view what) {
  std::string message = std::string(what) + ": " + natsStatus_GetText(s);
  if (err != 0) message += " (JetStream error " + std::to_string(static_cast<int>(err)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
    message += ": " + std::string(last);
  }
  return message;
}

}  // namespace

std::vector<StreamSpec> StreamSpecs(const config::NatsConfig& c) {
  const config::StreamsConfig& s = c.jetstream.streams;
  const int64_t r = c.jetstream.replicas;
  return {
      Spec("assignments", s.assignments, {c.assignments.subject}, r, false),
      Spec("results", s.results, {c.jetstream.consumers.results.filter_subject}, r, false),
      Spec("acks", s.acks, {c.jetstream.consumers.acks.filter_subject}, r, false),
      Spec("usage", s.usage, {c.usage.subject}, r, true),
      Spec("dlq", s.dlq,
           {c.decide.subject + ".dlq", c.jetstream.consumers.results.filter_subject + ".dlq",
            c.jetstream.consumers.acks.filter_subject + ".dlq"},
           r, false),
  };
}

StreamCheck CompareStream(const StreamSpec& spec, const jsStreamConfig& actual) {
  StreamCheck check;
  std::vector<std::string> have;
  for (int i = 0; i < actual.SubjectsLen; ++i) have.emplace_back(actual.Subjects[i]);
  for (const auto& want : spec.subjects) {
    const bool covered = std::find(have.begin(), have.end(), want) != have.end() ||
                         (IsValidSubject(want, false) && SubjectCovered(have, want));
    if (!covered) check.missing_subjects.push_back(want);
  }
  std::vector<std::string> extra;
  for (const auto& h : have) {
    if (std::find(spec.subjects.begin(), spec.subjects.end(), h) == spec.subjects.end()) {
      extra.push_back(h);
    }
  }
  if (!extra.empty()) check.drift.push_back("subjects: extra " + absl::StrJoin(extra, ","));
  if (actual.Retention != js_LimitsPolicy) check.drift.push_back("retention: want limits");
  if (actual.Storage != js_FileStorage) check.drift.push_back("storage: want file");
  const jsDiscardPolicy discard = spec.discard_new ? js_DiscardNew : js_DiscardOld;
  if (actual.Discard != discard) {
    check.drift.push_back(std::string("discard: want ") + (spec.discard_new ? "new" : "old"));
  }
  const int64_t max_age = spec.max_age_s * kNanosPerSecond;
  if (actual.MaxAge != max_age) {
    check.drift.push_back("max_age: want " + Seconds(max_age) + ", have " + Seconds(actual.MaxAge));
  }
  if (actual.MaxBytes != spec.max_bytes) {
    check.drift.push_back("max_bytes: want " + std::to_string(spec.max_bytes) + ", have " +
                          std::to_string(actual.MaxBytes));
  }
  const int64_t dup = spec.duplicate_window_s * kNanosPerSecond;
  if (actual.Duplicates != dup) {
    check.drift.push_back("duplicate_window: want " + Seconds(dup) + ", have " +
                          Seconds(actual.Duplicates));
  }
  const int64_t replicas = actual.Replicas <= 0 ? 1 : actual.Replicas;
  if (replicas != spec.replicas) {
    check.drift.push_back("num_replicas: want " + std::to_string(spec.replicas) + ", have " +
                          std::to_string(replicas));
  }
  return check;
}

StreamManager::StreamManager(const config::NatsConfig& config, NatsStats& stats, LogSink log)
    : specs_(StreamSpecs(config)),
      manage_(config.jetstream.manage_streams),
      stats_(stats),
      log_(std::move(log)) {}

jsStreamConfig StreamManager::ToJs(const StreamSpec& spec,
                                   std::vector<const char*>& subjects) const {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  subjects.clear();
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Retention = js_LimitsPolicy;
  cfg.Storage = js_FileStorage;
  cfg.Discard = spec.discard_new ? js_DiscardNew : js_DiscardOld;
  cfg.MaxAge = spec.max_age_s * kNanosPerSecond;
  cfg.MaxBytes = spec.max_bytes;
  cfg.Duplicates = spec.duplicate_window_s * kNanosPerSecond;
  cfg.Replicas = spec.replicas;
  return cfg;
}

EnsureResult StreamManager::Ensure(jsCtx* js) {
  Inc(stats_.stream_ensure_runs);
  EnsureResult result;
  result.ready = true;
  bool stream_failed = false;  // the stream of the current iteration
  auto not_ready = [&](std::string problem) {
    if (result.ready) result.problem = std::move(problem);
    result.ready = false;
    stream_failed = true;
  };
  if (js == nullptr) {
    not_ready("no JetStream context");
    Inc(stats_.stream_ensure_failures);
    return result;
  }
  std::vector<const char*> subjects;
  for (size_t role = 0; role < specs_.size(); ++role) {
    const StreamSpec& spec = specs_[role];
    // router_jetstream_stream_ensure_total{stream,result}: one result per stream and run.
    auto count = [&](EnsureCount c) {
      if (role < NatsStats::kStreamRoles) Inc(stats_.stream_ensure[role][static_cast<size_t>(c)]);
    };
    stream_failed = false;
    const size_t updated_before = result.updated.size();
    jsStreamInfo* raw_info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw_info, js, spec.name.c_str(), nullptr, &err);
    std::unique_ptr<jsStreamInfo, decltype(&jsStreamInfo_Destroy)> info(raw_info,
                                                                        &jsStreamInfo_Destroy);
    if (s != NATS_OK && IsNotFound(s, err)) {
      if (!manage_) {
        not_ready("stream " + spec.name + " does not exist");
        count(EnsureCount::kError);
        continue;
      }
      jsStreamConfig cfg = ToJs(spec, subjects);
      jsStreamInfo* created = nullptr;
      err = static_cast<jsErrCode>(0);
      s = js_AddStream(&created, js, &cfg, nullptr, &err);
      if (created != nullptr) jsStreamInfo_Destroy(created);
      if (s == NATS_OK) {
        result.created.push_back(spec.name);
        count(EnsureCount::kCreated);
        if (role < NatsStats::kStreamRoles) stats_.stream_drift[role].store(0);
        Log(log_, "INFO", "jetstream.stream_ensured", "stream created",
            {{"stream", spec.name}, {"subjects", absl::StrJoin(spec.subjects, ",")}});
        continue;
      }
      if (err != JSStreamNameExistErr) {
        not_ready(JsError(s, err, "create stream " + spec.name));
        count(EnsureCount::kError);
        continue;
      }
      // A racing replica created it first: verify what it created.
      raw_info = nullptr;
      err = static_cast<jsErrCode>(0);
      s = js_GetStreamInfo(&raw_info, js, spec.name.c_str(), nullptr, &err);
      info.reset(raw_info);
    }
    if (s != NATS_OK || !info || info->Config == nullptr) {
      not_ready(JsError(s, err, "stream info " + spec.name));
      count(EnsureCount::kError);
      continue;
    }
    StreamCheck check = CompareStream(spec, *info->Config);
    if (!check.missing_subjects.empty()) {
      if (!manage_) {
        not_ready("stream " + spec.name + " does not cover " +
                  absl::StrJoin(check.missing_subjects, ","));
      } else {
        // The one change a managing replica makes to an existing stream (§6.1).
        jsStreamConfig cfg = *info->Config;
        subjects.clear();
        for (int i = 0; i < cfg.SubjectsLen; ++i) subjects.push_back(cfg.Subjects[i]);
        for (const auto& m : check.missing_subjects) subjects.push_back(m.c_str());
        cfg.Subjects = subjects.data();
        cfg.SubjectsLen = static_cast<int>(subjects.size());
        jsStreamInfo* updated = nullptr;
        err = static_cast<jsErrCode>(0);
        s = js_UpdateStream(&updated, js, &cfg, nullptr, &err);
        if (updated != nullptr) jsStreamInfo_Destroy(updated);
        if (s == NATS_OK) {
          result.updated.push_back(spec.name);
          Log(log_, "INFO", "jetstream.stream_ensured", "missing subjects added",
              {{"stream", spec.name}, {"added", absl::StrJoin(check.missing_subjects, ",")}});
        } else {
          not_ready(JsError(s, err, "add subjects to stream " + spec.name));
        }
      }
    }
    if (!check.drift.empty()) result.drift[spec.name] = check.drift;
    if (role < NatsStats::kStreamRoles)
      stats_.stream_drift[role].store(check.drift.empty() ? 0 : 1);
    if (stream_failed) {
      count(EnsureCount::kError);  // subjects missing (verifying) or not added
    } else {
      count(result.updated.size() != updated_before ? EnsureCount::kUpdated
                                                    : EnsureCount::kUnchanged);
    }
    auto& last = last_drift_[spec.name];
    if (check.drift != last) {
      last = check.drift;
      if (!check.drift.empty()) {
        Inc(stats_.stream_drift_reports);
        Log(log_, "WARN", "jetstream.stream_config_drift",
            "stream settings differ from the configuration; not changed",
            {{"stream", spec.name}, {"differences", absl::StrJoin(check.drift, "; ")}});
      }
    }
  }
  if (!result.ready) {
    Inc(stats_.stream_ensure_failures);
    Log(log_, "ERROR", "jetstream.streams_not_ready", "JetStream streams not ready",
        {{"problem", result.problem}});
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> StreamManager::StreamsCapturing(jsCtx* js,
                                                                         std::string_view subject) {
  std::vector<std::string> out;
  if (js == nullptr) return out;
  jsStreamInfoList* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Streams(&raw, js, nullptr, &err);
  std::unique_ptr<jsStreamInfoList, decltype(&jsStreamInfoList_Destroy)> list(
      raw, &jsStreamInfoList_Destroy);
  if (s == NATS_NOT_FOUND) return out;      // no stream at all
  if (s == NATS_NO_RESPONDERS) return out;  // no JetStream on this server: nothing captures
  if (err == JSNotEnabledForAccountErr || err == JSNotEnabledErr) return out;
  if (s != NATS_OK) return NatsError(s, JsError(s, err, "list streams"));
  for (int i = 0; list && i < list->Count; ++i) {
    const jsStreamInfo* si = list->List[i];
    if (si == nullptr || si->Config == nullptr) continue;
    for (int j = 0; j < si->Config->SubjectsLen; ++j) {
      if (SubjectMatches(si->Config->Subjects[j], subject)) {
        out.emplace_back(si->Config->Name);
        break;
      }
    }
  }
  return out;
}

}  // namespace router::nats_adapter
