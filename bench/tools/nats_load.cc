// bench_nats_load: NATS decide load generator of nats_decide and `make load`
// (reliability-and-performance.md §2.3 and §4). Sends DecideRequest JSON (version "1", unique
// request_id, task text.generate with payload_ref, the given tenant and policy, push_assignment
// as asked) as core NATS request/reply over K connections, records every latency and every
// returned assignment_id, and audits the assignments stream: for each run, the messages stored
// over the run's sequence range must carry exactly the returned assignment_ids as Nats-Msg-Id,
// each once.
//
// Modes (one per invocation; every run prints one markdown table row on stdout):
//   --mode load   --concurrency 16,64,256,1024 --duration 20 --warmup 3
//       closed loop: W requests in flight (spread over the connections), one row per W:
//       | W | decisions/s | p50 ms | p99 ms | ok | errors | audit |
//   --mode sequential --count 1000     one request at a time (L1)
//   --mode burst --count 100           all requests sent at once (L2)
//   --mode rate --rate 2000 --duration 60   open loop at a fixed rate (L3)
//       rows: | run | requests | wall s | req/s | p50 ms | p95 ms | p99 ms | ok | errors | audit |
// Options: --url nats://127.0.0.1:4222 --subject beamline.router.v1.decide --connections 4
//   --tenant bench-0 --policy three_providers --push (push_assignment true) --label TEXT
//   --audit-stream CAF_ASSIGNMENTS (empty = no audit) --timeout-ms 10000 --share PROVIDER
//   (adds the share of replies naming PROVIDER to the row) --require-ok (exit 1 unless every
//   request got an ok reply and the audit is clean) --send-asap (natsOptions_SetSendAsap: write
//   each request at once instead of leaving it to cnats's flusher, which waits about 1 ms to
//   batch; lowers latency, costs CPU at high rates)
// Exit status: 0 = ran (and, with --require-ok, clean), 1 = errors, 2 = usage / connect failure.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string url = "nats://127.0.0.1:4222";
  std::string subject = "beamline.router.v1.decide";
  std::string mode = "load";
  std::vector<int> concurrency = {16, 64, 256, 1024};
  int connections = 4;
  double duration_s = 20;
  double warmup_s = 3;
  int count = 1000;
  double rate = 2000;
  std::string tenant = "bench-0";
  std::string policy = "three_providers";
  bool push = false;
  std::string label;
  std::string audit_stream = "CAF_ASSIGNMENTS";
  int64_t timeout_ms = 10000;
  std::string share_provider;
  bool require_ok = false;
  bool send_asap = false;
};

// Value of the first `"key":"<value>"` in a JSON text (replies are flat enough for this).
std::string_view JsonString(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":\"";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return {};
  at += needle.size();
  size_t end = json.find('"', at);
  if (end == std::string_view::npos) return {};
  return json.substr(at, end - at);
}

// One request/reply lane set over one connection. Reply subjects are <inbox>.<id>; the id
// indexes `sent_ns` (closed loop: the slot; open loop: the request's sequence number).
class Lane {
 public:
  Lane(const Options& o, int index, size_t ids) : o_(o), index_(index), sent_ns_(ids) {}
  ~Lane() {
    if (sub_ != nullptr) {
      natsSubscription_Unsubscribe(sub_);
      natsSubscription_Destroy(sub_);
    }
    if (nc_ != nullptr) {
      natsConnection_Close(nc_);
      natsConnection_Destroy(nc_);
    }
  }

  bool Connect() {
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    natsOptions_SetURL(opts, o_.url.c_str());
    natsOptions_SetName(opts, "bench_nats_load");
    if (o_.send_asap) natsOptions_SetSendAsap(opts, true);
    natsStatus s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
      std::fprintf(stderr, "connect %s: %s\n", o_.url.c_str(), natsStatus_GetText(s));
      return false;
    }
    natsInbox* inbox = nullptr;
    natsInbox_Create(&inbox);
    inbox_ = inbox;
    natsInbox_Destroy(inbox);
    s = natsConnection_Subscribe(&sub_, nc_, (inbox_ + ".*").c_str(), &Lane::OnReply, this);
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub_, -1, -1);
    if (s == NATS_OK) s = natsConnection_Flush(nc_);
    return s == NATS_OK;
  }

  // Closed loop: keep resending on the same id while `running` (and while below `limit`
  // requests in total when limit > 0).
  void SetClosedLoop(std::atomic<bool>* running, int64_t limit) {
    closed_loop_ = true;
    running_ = running;
    limit_ = limit;
  }
  // Replies received in [from, to) count for the figures (default: all).
  void SetWindow(int64_t from_ns, int64_t to_ns) {
    window_from_.store(from_ns);
    window_to_.store(to_ns);
  }

  bool Send(size_t id) {
    char body[512];
    const uint64_t seq = sent_total_.fetch_add(1) + 1;
    const int n = std::snprintf(
        body, sizeof(body),
        "{\"version\":\"1\",\"request_id\":\"ld-%d-%" PRIu64 "-%" PRIu64
        "\",\"tenant_id\":\"%s\",\"policy_id\":\"%s\",\"task\":{\"type\":\"text.generate\","
        "\"payload_ref\":\"s3://bucket/key\"},\"constraints\":{\"session_id\":\"s-%" PRIu64
        "\"},\"push_assignment\":%s}",
        index_, static_cast<uint64_t>(run_id_), seq, o_.tenant.c_str(), o_.policy.c_str(),
        seq % 10000, o_.push ? "true" : "false");
    char reply[128];
    std::snprintf(reply, sizeof(reply), "%s.%zu", inbox_.c_str(), id);
    sent_ns_[id].store(NowNs(), std::memory_order_release);
    natsStatus s = natsConnection_PublishRequest(nc_, o_.subject.c_str(), reply, body, n);
    if (s != NATS_OK) {
      send_errors_.fetch_add(1);
      return false;
    }
    return true;
  }

  void Flush() { natsConnection_FlushTimeout(nc_, 5000); }

  uint64_t sent() const { return sent_total_.load(); }
  uint64_t received() const { return received_.load(); }
  void set_run_id(int64_t id) { run_id_ = id; }

  // Results (read after the run, once the reply thread is idle).
  std::vector<int64_t> latencies_ns;
  std::vector<std::string> assignment_ids;
  std::map<std::string, int64_t> errors;  // error code -> count
  int64_t ok = 0;
  int64_t share_hits = 0;
  std::atomic<int64_t> send_errors_{0};

  void ResetResults() {
    latencies_ns.clear();
    assignment_ids.clear();
    errors.clear();
    ok = 0;
    share_hits = 0;
  }

 private:
  static void OnReply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    static_cast<Lane*>(closure)->Handle(msg);
    natsMsg_Destroy(msg);
  }

  void Handle(natsMsg* msg) {
    const int64_t now = NowNs();
    const char* subject = natsMsg_GetSubject(msg);
    const char* dot = std::strrchr(subject, '.');
    if (dot == nullptr) return;
    const size_t id = std::strtoull(dot + 1, nullptr, 10);
    if (id >= sent_ns_.size()) return;
    const int64_t sent = sent_ns_[id].load(std::memory_order_acquire);
    const std::string_view body(natsMsg_GetData(msg),
                                static_cast<size_t>(natsMsg_GetDataLength(msg)));
    const bool ok_reply = body.find("\"ok\":true") != std::string_view::npos;
    if (ok_reply && o_.push) {
      // Every returned assignment, warm-up and drain included: the audit covers the whole run.
      std::string_view aid = JsonString(body, "assignment_id");
      if (!aid.empty()) assignment_ids.emplace_back(aid);
    }
    if (now >= window_from_.load() && now < window_to_.load()) {
      latencies_ns.push_back(now - sent);
      if (ok_reply) {
        ++ok;
        if (!o_.share_provider.empty() && JsonString(body, "provider_id") == o_.share_provider) {
          ++share_hits;
        }
      } else {
        std::string_view code = JsonString(body, "code");
        ++errors[std::string(code.empty() ? "unparsed" : code)];
      }
    }
    received_.fetch_add(1);
    if (closed_loop_ && running_->load() &&
        (limit_ <= 0 || sent_total_.load() < static_cast<uint64_t>(limit_))) {
      Send(id);
    }
  }

  const Options& o_;
  const int index_;
  int64_t run_id_ = 0;
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::string inbox_;
  std::vector<std::atomic<int64_t>> sent_ns_;
  std::atomic<uint64_t> sent_total_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<int64_t> window_from_{0};
  std::atomic<int64_t> window_to_{INT64_MAX};
  bool closed_loop_ = false;
  std::atomic<bool>* running_ = nullptr;
  int64_t limit_ = 0;
};

// ---- stream audit

struct StreamAuditor {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::string stream;

  bool Open(const Options& o) {
    if (o.audit_stream.empty()) return false;
    stream = o.audit_stream;
    if (natsConnection_ConnectTo(&nc, o.url.c_str()) != NATS_OK) return false;
    return natsConnection_JetStream(&js, nc, nullptr) == NATS_OK;
  }
  ~StreamAuditor() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
  }
  // Last sequence of the stream; -1 when it cannot be read (no stream / no JetStream).
  int64_t LastSeq() {
    if (js == nullptr) return -1;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &jerr) != NATS_OK) return -1;
    const int64_t last = static_cast<int64_t>(si->State.LastSeq);
    jsStreamInfo_Destroy(si);
    return last;
  }
  // Nats-Msg-Id of every message with sequence in (after, upto].
  bool ReadIds(int64_t after, int64_t upto, std::vector<std::string>* ids) {
    if (upto <= after) return true;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = static_cast<uint64_t>(after + 1);
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_SubscribeSync(&sub, js, ">", nullptr, &so, &jerr) != NATS_OK) {
      std::fprintf(stderr, "audit: cannot subscribe to %s\n", stream.c_str());
      return false;
    }
    natsSubscription_SetPendingLimits(sub, -1, -1);
    bool ok = true;
    for (;;) {
      natsMsg* msg = nullptr;
      if (natsSubscription_NextMsg(&msg, sub, 5000) != NATS_OK) {
        ok = false;
        break;
      }
      jsMsgMetaData* meta = nullptr;
      int64_t seq = 0;
      if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        seq = static_cast<int64_t>(meta->Sequence.Stream);
        jsMsgMetaData_Destroy(meta);
      }
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
        ids->emplace_back(id);
      } else {
        ids->emplace_back("");
      }
      natsMsg_Destroy(msg);
      if (seq >= upto) break;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return ok;
  }
};

// "clean" or what is wrong, comparing the returned ids with the stored ones.
std::string AuditVerdict(std::vector<std::string> returned, std::vector<std::string> stored) {
  std::sort(returned.begin(), returned.end());
  std::sort(stored.begin(), stored.end());
  int64_t dup_returned = 0, dup_stored = 0;
  for (size_t i = 1; i < returned.size(); ++i) dup_returned += returned[i] == returned[i - 1];
  for (size_t i = 1; i < stored.size(); ++i) dup_stored += stored[i] == stored[i - 1];
  std::set<std::string> r(returned.begin(), returned.end()), s(stored.begin(), stored.end());
  int64_t missing = 0, extra = 0;
  for (const auto& id : r) missing += s.count(id) == 0;
  for (const auto& id : s) extra += r.count(id) == 0;
  char buf[256];
  if (dup_returned == 0 && dup_stored == 0 && missing == 0 && extra == 0) {
    std::snprintf(buf, sizeof(buf), "clean: %zu stored once", stored.size());
  } else {
    std::snprintf(buf, sizeof(buf),
                  "FAIL: %zu stored, %" PRId64 " missing, %" PRId64 " extra, %" PRId64 " duplicate",
                  stored.size(), missing, extra, dup_stored + dup_returned);
  }
  return buf;
}

double Percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
  k = std::clamp<size_t>(k, 1, v.size());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k - 1), v.end());
  return static_cast<double>(v[k - 1]) / 1e6;
}

struct RunResult {
  std::vector<int64_t> latencies;
  std::vector<std::string> assignment_ids;
  std::map<std::string, int64_t> errors;
  int64_t ok = 0;
  int64_t share_hits = 0;
  int64_t lost = 0;  // sent, no reply within the timeout
  double window_s = 0;
  std::string audit = "n/a";
  bool audit_clean = true;
};

std::string ErrorsText(const RunResult& r) {
  int64_t total = r.lost;
  for (const auto& [code, n] : r.errors) total += n;
  if (total == 0) return "0";
  std::string out = std::to_string(total) + " (";
  bool first = true;
  for (const auto& [code, n] : r.errors) {
    out += (first ? "" : ", ") + code + " " + std::to_string(n);
    first = false;
  }
  if (r.lost > 0) out += std::string(first ? "" : ", ") + "no reply " + std::to_string(r.lost);
  return out + ")";
}

class Runner {
 public:
  explicit Runner(Options o) : o_(std::move(o)) {}

  bool Setup(size_t ids_per_lane) {
    lanes_.clear();
    for (int i = 0; i < o_.connections; ++i) {
      lanes_.push_back(std::make_unique<Lane>(o_, i, ids_per_lane));
      if (!lanes_.back()->Connect()) return false;
      lanes_.back()->set_run_id(NowNs() / 1000);
    }
    if (!o_.audit_stream.empty() && o_.push && !auditor_.Open(o_)) {
      std::fprintf(stderr, "audit: cannot open JetStream\n");
    }
    return true;
  }

  // Waits until every lane received what it sent, up to the timeout; returns the shortfall.
  int64_t Drain() {
    const int64_t deadline = NowNs() + o_.timeout_ms * 1'000'000;
    for (;;) {
      int64_t missing = 0;
      for (auto& l : lanes_) missing += static_cast<int64_t>(l->sent() - l->received());
      if (missing <= 0 || NowNs() > deadline) return std::max<int64_t>(missing, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  RunResult Collect(int64_t lost, double window_s, int64_t seq_before) {
    RunResult r;
    r.lost = lost;
    r.window_s = window_s;
    for (auto& l : lanes_) {
      r.latencies.insert(r.latencies.end(), l->latencies_ns.begin(), l->latencies_ns.end());
      r.assignment_ids.insert(r.assignment_ids.end(), l->assignment_ids.begin(),
                              l->assignment_ids.end());
      for (const auto& [code, n] : l->errors) r.errors[code] += n;
      r.ok += l->ok;
      r.share_hits += l->share_hits;
      r.lost += l->send_errors_.load();
      l->ResetResults();
    }
    if (o_.push && seq_before >= 0) {
      // Wait (up to 10 s) until the stream holds at least the returned assignments and stops
      // growing (immediate mode publishes after the reply).
      const int64_t deadline = NowNs() + 10'000'000'000;
      int64_t last = auditor_.LastSeq(), stable_since = NowNs();
      while (NowNs() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const int64_t now_last = auditor_.LastSeq();
        if (now_last != last) {
          last = now_last;
          stable_since = NowNs();
        } else if (last - seq_before >= static_cast<int64_t>(r.assignment_ids.size()) &&
                   NowNs() - stable_since > 500'000'000) {
          break;
        }
      }
      std::vector<std::string> stored;
      if (auditor_.ReadIds(seq_before, last, &stored)) {
        r.audit = AuditVerdict(r.assignment_ids, stored);
        r.audit_clean = r.audit.rfind("clean", 0) == 0;
      } else {
        r.audit = "FAIL: stream not readable";
        r.audit_clean = false;
      }
    } else if (o_.push) {
      r.audit = "FAIL: no stream " + o_.audit_stream;
      r.audit_clean = false;
    }
    return r;
  }

  int64_t SeqBefore() { return o_.push ? auditor_.LastSeq() : -1; }

  // Closed loop with W in flight for warm-up + duration.
  RunResult Load(int w) {
    const int k = std::min(o_.connections, w);
    if (!Setup(static_cast<size_t>((w + k - 1) / k))) std::exit(2);
    const int64_t seq_before = SeqBefore();
    std::atomic<bool> running{true};
    const int64_t start = NowNs();
    const int64_t from = start + static_cast<int64_t>(o_.warmup_s * 1e9);
    const int64_t to = from + static_cast<int64_t>(o_.duration_s * 1e9);
    for (int i = 0; i < k; ++i) {
      lanes_[static_cast<size_t>(i)]->SetClosedLoop(&running, 0);
      lanes_[static_cast<size_t>(i)]->SetWindow(from, to);
    }
    for (int j = 0; j < w; ++j)
      lanes_[static_cast<size_t>(j % k)]->Send(static_cast<size_t>(j / k));
    for (auto& l : lanes_) l->Flush();
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(to)));
    running.store(false);
    const int64_t lost = Drain();
    return Collect(lost, o_.duration_s, seq_before);
  }

  RunResult Sequential(int n) {
    o_.connections = 1;
    if (!Setup(1)) std::exit(2);
    const int64_t seq_before = SeqBefore();
    std::atomic<bool> running{true};
    lanes_[0]->SetClosedLoop(&running, n);
    const int64_t start = NowNs();
    lanes_[0]->Send(0);
    const int64_t deadline =
        start + o_.timeout_ms * 1'000'000 + static_cast<int64_t>(n) * 100'000'000;
    while (lanes_[0]->received() < static_cast<uint64_t>(n) && NowNs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const double wall = static_cast<double>(NowNs() - start) / 1e9;
    running.store(false);
    const int64_t lost = n - static_cast<int64_t>(lanes_[0]->received());
    return Collect(std::max<int64_t>(lost, 0), wall, seq_before);
  }

  RunResult Burst(int n) {
    if (!Setup(static_cast<size_t>(n))) std::exit(2);
    const int64_t seq_before = SeqBefore();
    const int64_t start = NowNs();
    for (int j = 0; j < n; ++j) {
      lanes_[static_cast<size_t>(j % o_.connections)]->Send(static_cast<size_t>(j));
    }
    for (auto& l : lanes_) l->Flush();
    const int64_t lost = Drain();
    const double wall = static_cast<double>(NowNs() - start) / 1e9;
    return Collect(lost, wall, seq_before);
  }

  RunResult Rate(double rate, double duration_s) {
    const int64_t total = static_cast<int64_t>(rate * duration_s);
    const size_t per_lane = static_cast<size_t>(total / o_.connections + 1);
    if (!Setup(per_lane)) std::exit(2);
    const int64_t seq_before = SeqBefore();
    const int64_t start = NowNs();
    const double interval_ns = 1e9 / rate;
    int64_t late = 0;
    for (int64_t j = 0; j < total; ++j) {
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(j) * interval_ns);
      int64_t now = NowNs();
      if (now < due) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
      } else if (now - due > 1'000'000) {
        ++late;
      }
      lanes_[static_cast<size_t>(j % o_.connections)]->Send(
          static_cast<size_t>(j / o_.connections));
    }
    const double send_wall = static_cast<double>(NowNs() - start) / 1e9;
    const int64_t lost = Drain();
    (void)late;
    return Collect(lost, send_wall, seq_before);
  }

 private:
  Options o_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  StreamAuditor auditor_;
};

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p != '\0';) {
    out.push_back(std::atoi(p));
    const char* comma = std::strchr(p, ',');
    if (comma == nullptr) break;
    p = comma + 1;
  }
  return out;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--push") {
      o->push = true;
    } else if (a == "--require-ok") {
      o->require_ok = true;
    } else if (a == "--send-asap") {
      o->send_asap = true;
    } else if ((v = next()) == nullptr) {
      std::fprintf(stderr, "missing value for %s\n", a.c_str());
      return false;
    } else if (a == "--url") {
      o->url = v;
    } else if (a == "--subject") {
      o->subject = v;
    } else if (a == "--mode") {
      o->mode = v;
    } else if (a == "--concurrency") {
      o->concurrency = ParseList(v);
    } else if (a == "--connections") {
      o->connections = std::max(1, std::atoi(v));
    } else if (a == "--duration") {
      o->duration_s = std::atof(v);
    } else if (a == "--warmup") {
      o->warmup_s = std::atof(v);
    } else if (a == "--count") {
      o->count = std::atoi(v);
    } else if (a == "--rate") {
      o->rate = std::atof(v);
    } else if (a == "--tenant") {
      o->tenant = v;
    } else if (a == "--policy") {
      o->policy = v;
    } else if (a == "--label") {
      o->label = v;
    } else if (a == "--audit-stream") {
      o->audit_stream = v;
    } else if (a == "--timeout-ms") {
      o->timeout_ms = std::atoll(v);
    } else if (a == "--share") {
      o->share_provider = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  nats_Open(-1);
  bool clean = true;
  {
    Runner runner(o);
    const std::string label = o.label.empty() ? o.mode : o.label;
    if (o.mode == "load") {
      for (int w : o.concurrency) {
        RunResult r = runner.Load(w);
        const double rps = static_cast<double>(r.latencies.size()) / r.window_s;
        const double p50 = Percentile(r.latencies, 0.50);
        const double p99 = Percentile(r.latencies, 0.99);
        std::printf("| %s | %d | %.0f | %.2f | %.2f | %" PRId64 " | %s | %s |\n", label.c_str(), w,
                    rps, p50, p99, r.ok, ErrorsText(r).c_str(), r.audit.c_str());
        std::fflush(stdout);
        clean = clean && r.errors.empty() && r.lost == 0 && r.audit_clean;
      }
    } else if (o.mode == "sequential" || o.mode == "burst" || o.mode == "rate") {
      RunResult r = o.mode == "sequential" ? runner.Sequential(o.count)
                    : o.mode == "burst"    ? runner.Burst(o.count)
                                           : runner.Rate(o.rate, o.duration_s);
      const int64_t n = static_cast<int64_t>(r.latencies.size()) + r.lost;
      const double rps = static_cast<double>(r.latencies.size()) / r.window_s;
      const double p50 = Percentile(r.latencies, 0.50);
      const double p95 = Percentile(r.latencies, 0.95);
      const double p99 = Percentile(r.latencies, 0.99);
      std::string share;
      if (!o.share_provider.empty() && r.ok > 0) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), " %s %.1f %% |", o.share_provider.c_str(),
                      100.0 * static_cast<double>(r.share_hits) / static_cast<double>(r.ok));
        share = buf;
      }
      std::printf("| %s | %" PRId64 " | %.2f | %.1f | %.2f | %.2f | %.2f | %" PRId64
                  " | %s | %s |%s\n",
                  label.c_str(), n, r.window_s, rps, p50, p95, p99, r.ok, ErrorsText(r).c_str(),
                  r.audit.c_str(), share.c_str());
      clean = r.errors.empty() && r.lost == 0 && r.audit_clean && r.ok == n;
    } else {
      std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
      return 2;
    }
  }
  nats_Close();
  return (o.require_ok && !clean) ? 1 : 0;
}
