#include "service/correlation_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iterator>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "policy/json_tree.h"

namespace router::service {

namespace {

size_t ShardCount(size_t requested, size_t max_entries) {
  if (max_entries < 1024) return 1;
  size_t n = 1;
  while (n < requested && n < 1024) n <<= 1;
  return n;
}

// Heterogeneous lookup key: this abseil's string hash takes absl::string_view, which is not
// std::string_view here.
absl::string_view LookupKey(std::string_view s) { return absl::string_view(s.data(), s.size()); }

uint64_t RequestHash(std::string_view tenant_id, std::string_view request_id) {
  return absl::HashOf(LookupKey(tenant_id), LookupKey(request_id));
}

// Newest-first ordering across shards.
std::atomic<uint64_t> g_creation_seq{1};

// Publish fate as stored in a record: kNoFate while pending, 1 + PublishFate, or kOtherFate for
// any other text given to MarkPublishFailed (kept in the record's extra fields).
constexpr uint8_t kNoFate = 0;
constexpr uint8_t kOtherFate = 0xff;
constexpr PublishFate kAllFates[] = {PublishFate::kPublished, PublishFate::kDeduplicated,
                                     PublishFate::kFailed,    PublishFate::kRetriesExhausted,
                                     PublishFate::kExpired,   PublishFate::kShutdownDropped};

uint8_t FateCode(PublishFate fate) { return static_cast<uint8_t>(static_cast<uint8_t>(fate) + 1); }

uint8_t FateCodeOf(std::string_view name) {
  if (name.empty()) return kNoFate;
  for (PublishFate f : kAllFates) {
    if (PublishFateName(f) == name) return FateCode(f);
  }
  return kOtherFate;
}

bool StoredFate(uint8_t code) {
  return code == FateCode(PublishFate::kPublished) || code == FateCode(PublishFate::kDeduplicated);
}

}  // namespace

std::string_view PublishFateName(PublishFate fate) {
  switch (fate) {
    case PublishFate::kPublished:
      return "published";
    case PublishFate::kDeduplicated:
      return "deduplicated";
    case PublishFate::kFailed:
      return "failed";
    case PublishFate::kRetriesExhausted:
      return "retries_exhausted";
    case PublishFate::kExpired:
      return "expired";
    case PublishFate::kShutdownDropped:
      return "shutdown_dropped";
  }
  return "failed";
}

std::string_view AssignmentStateName(AssignmentState state) {
  switch (state) {
    case AssignmentState::kPending:
      return "pending";
    case AssignmentState::kPublished:
      return "published";
    case AssignmentState::kPublishFailed:
      return "publish_failed";
    case AssignmentState::kAcked:
      return "acked";
    case AssignmentState::kCompleted:
      return "completed";
  }
  return "pending";
}

// One allocation: this header, then the immutable strings back to back (kFields of them, in
// NewAssignment order). Fields marked "shard" change only under the owning shard's lock; the
// strings never change, so the request index reads them under its own lock (a record is freed
// only after it left the index).
struct CorrelationStore::Rec {
  enum Field : uint8_t {
    kAssignmentId,
    kRequestId,
    kTraceId,
    kTenantId,
    kPolicyId,
    kProviderId,
    kDecisionId,
    kSubject,
    kFields
  };
  // Ack and result fields: most records never get them before they are evicted.
  struct Extra {
    std::string ack_status;
    std::string ack_message;
    std::string result_status;
    std::string error_code;
    std::string other_fate;  // kOtherFate
    int64_t latency_ms = 0;
    double cost = 0;
    int64_t acked_at_ms = 0;
    int64_t completed_at_ms = 0;
  };

  uint32_t end[kFields] = {};  // end offset of each string in text()
  uint64_t seq = 0;
  uint64_t request_hash = 0;
  MonoTime expires{};
  int64_t created_at_ms = 0;
  int64_t published_at_ms = 0;   // shard
  int64_t stream_seq = 0;        // shard
  std::unique_ptr<Extra> extra;  // shard
  Rec* older = nullptr;          // shard FIFO
  Rec* newer = nullptr;
  AssignmentState state = AssignmentState::kPending;  // shard
  uint8_t fate = kNoFate;                             // shard

  const char* text() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view Get(Field f) const {
    const uint32_t begin = f == 0 ? 0 : end[f - 1];
    return std::string_view(text() + begin, end[f] - begin);
  }
  Extra& MutableExtra() {
    if (!extra) extra = std::make_unique<Extra>();
    return *extra;
  }
  std::string_view FateName() const {
    if (fate == kNoFate) return "";
    if (fate == kOtherFate) return extra ? std::string_view(extra->other_fate) : "";
    return PublishFateName(static_cast<PublishFate>(fate - 1));
  }
  void SetFate(std::string_view name) {
    fate = FateCodeOf(name);
    if (fate == kOtherFate) MutableExtra().other_fate = std::string(name);
  }

  static RecPtr Make(const NewAssignment& a) {
    const std::string_view parts[kFields] = {a.assignment_id, a.request_id, a.trace_id,
                                             a.tenant_id,     a.policy_id,  a.provider_id,
                                             a.decision_id,   a.subject};
    size_t total = 0;
    for (std::string_view p : parts) total += p.size();
    void* mem = ::operator new(sizeof(Rec) + total);
    RecPtr rec(new (mem) Rec());
    char* out = reinterpret_cast<char*>(rec.get() + 1);
    uint32_t at = 0;
    for (size_t i = 0; i < kFields; ++i) {
      std::memcpy(out + at, parts[i].data(), parts[i].size());
      at += static_cast<uint32_t>(parts[i].size());
      rec->end[i] = at;
    }
    return rec;
  }

  AssignmentRecord ToRecord() const {
    AssignmentRecord r;
    r.assignment_id = Get(kAssignmentId);
    r.request_id = Get(kRequestId);
    r.trace_id = Get(kTraceId);
    r.tenant_id = Get(kTenantId);
    r.policy_id = Get(kPolicyId);
    r.provider_id = Get(kProviderId);
    r.decision_id = Get(kDecisionId);
    r.subject = Get(kSubject);
    r.state = state;
    r.created_at_ms = created_at_ms;
    r.published_at_ms = published_at_ms;
    r.stream_seq = stream_seq;
    r.publish_fate = FateName();
    if (extra) {
      r.ack_status = extra->ack_status;
      r.ack_message = extra->ack_message;
      r.result_status = extra->result_status;
      r.error_code = extra->error_code;
      r.latency_ms = extra->latency_ms;
      r.cost = extra->cost;
      r.acked_at_ms = extra->acked_at_ms;
      r.completed_at_ms = extra->completed_at_ms;
    }
    return r;
  }
};

void CorrelationStore::RecDeleter::operator()(Rec* rec) const {
  rec->~Rec();
  ::operator delete(static_cast<void*>(rec));
}

struct CorrelationStore::Shard {
  explicit Shard(size_t cap) : capacity(cap) {}
  ~Shard() {
    for (auto& [id, rec] : map) RecDeleter()(rec);
  }

  mutable absl::Mutex mu;
  // Swiss table of assignment_id (a view into the record) -> owned record.
  absl::flat_hash_map<absl::string_view, Rec*> map ABSL_GUARDED_BY(mu);
  Rec* oldest ABSL_GUARDED_BY(mu) = nullptr;  // creation FIFO through Rec::older/newer
  Rec* newest ABSL_GUARDED_BY(mu) = nullptr;
  const size_t capacity;

  void Append(Rec* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    r->older = newest;
    r->newer = nullptr;
    (newest != nullptr ? newest->newer : oldest) = r;
    newest = r;
  }
  // Takes `r` out of the map and the FIFO; the caller owns it.
  RecPtr Remove(Rec* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    (r->older != nullptr ? r->older->newer : oldest) = r->newer;
    (r->newer != nullptr ? r->newer->older : newest) = r->older;
    r->older = r->newer = nullptr;
    map.erase(LookupKey(r->Get(Rec::kAssignmentId)));
    return RecPtr(r);
  }
  // Removes expired records from the front, then the oldest while over capacity.
  void Trim(MonoTime now, std::vector<RecPtr>& expired, std::vector<RecPtr>& evicted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (oldest != nullptr) {
      if (oldest->expires <= now) {
        expired.push_back(Remove(oldest));
      } else if (map.size() > capacity) {
        evicted.push_back(Remove(oldest));
      } else {
        break;
      }
    }
  }
};

struct CorrelationStore::IndexShard {
  mutable absl::Mutex mu;
  // RequestHash(tenant, request_id) -> its records (almost always one; a hash collision only
  // adds candidates, which readers filter by the record's own strings).
  absl::flat_hash_map<uint64_t, absl::InlinedVector<const Rec*, 1>> map ABSL_GUARDED_BY(mu);
};

CorrelationStore::CorrelationStore(CorrelationStoreOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  const size_t n = ShardCount(options_.shards, options_.max_entries);
  const size_t cap = std::max<size_t>(1, (options_.max_entries + n - 1) / n);
  for (size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(cap));
    index_.push_back(std::make_unique<IndexShard>());
  }
}

CorrelationStore::~CorrelationStore() = default;

CorrelationStore::Shard& CorrelationStore::ShardFor(std::string_view assignment_id) const {
  return *shards_[std::hash<std::string_view>{}(assignment_id) & (shards_.size() - 1)];
}

CorrelationStore::IndexShard& CorrelationStore::IndexFor(uint64_t request_hash) const {
  // The low bits pick the Swiss table's group; shard on the high bits.
  return *index_[(request_hash >> 40) & (index_.size() - 1)];
}

void CorrelationStore::Unindex(std::vector<RecPtr>& removed, std::string_view reason) {
  if (removed.empty()) return;
  for (const RecPtr& r : removed) {
    IndexShard& ix = IndexFor(r->request_hash);
    absl::MutexLock lock(&ix.mu);
    auto it = ix.map.find(r->request_hash);
    if (it == ix.map.end()) continue;
    auto& recs = it->second;
    recs.erase(std::remove(recs.begin(), recs.end(), r.get()), recs.end());
    if (recs.empty()) ix.map.erase(it);
  }
  size_.fetch_sub(removed.size(), std::memory_order_relaxed);
  (reason == "expired" ? evicted_expired_ : evicted_capacity_)
      .fetch_add(removed.size(), std::memory_order_relaxed);
  if (options_.on_evict) {
    for (size_t i = 0; i < removed.size(); ++i) options_.on_evict(reason);
  }
  removed.clear();  // frees the records (out of every index now)
}

bool CorrelationStore::Create(const AssignmentRecord& record) {
  NewAssignment a;
  a.assignment_id = record.assignment_id;
  a.request_id = record.request_id;
  a.trace_id = record.trace_id;
  a.tenant_id = record.tenant_id;
  a.policy_id = record.policy_id;
  a.provider_id = record.provider_id;
  a.decision_id = record.decision_id;
  a.subject = record.subject;
  a.created_at_ms = record.created_at_ms;
  return Create(a);
}

bool CorrelationStore::Create(const NewAssignment& a) {
  if (a.assignment_id.empty()) return false;
  RecPtr rec = Rec::Make(a);
  rec->created_at_ms = a.created_at_ms != 0 ? a.created_at_ms : clock_.WallMs();
  rec->seq = g_creation_seq.fetch_add(1, std::memory_order_relaxed);
  rec->request_hash = RequestHash(a.tenant_id, a.request_id);
  IndexShard& ix = IndexFor(rec->request_hash);
  std::vector<RecPtr> expired, evicted;
  Shard& shard = ShardFor(a.assignment_id);
  {
    absl::MutexLock lock(&shard.mu);
    const MonoTime now = clock_.MonoNow();
    if (auto it = shard.map.find(LookupKey(a.assignment_id)); it != shard.map.end()) {
      if (it->second->expires > now) return false;
      // An expired record with this id: it leaves now, counted as expired.
      expired.push_back(shard.Remove(it->second));
    }
    rec->expires = now + std::chrono::seconds(std::max<int64_t>(0, options_.ttl_s));
    Rec* r = rec.release();
    shard.map.emplace(LookupKey(r->Get(Rec::kAssignmentId)), r);
    shard.Append(r);
    size_.fetch_add(1, std::memory_order_relaxed);  // removed records leave via Unindex
    {
      // Indexed before the shard lock is released: whoever removes the record later (under
      // this lock) finds it in the index.
      absl::MutexLock index_lock(&ix.mu);
      ix.map[r->request_hash].push_back(r);
    }
    shard.Trim(now, expired, evicted);
  }
  Unindex(expired, "expired");
  Unindex(evicted, "capacity");
  return true;
}

namespace {
// Applies `fn` to the live record `assignment_id` of `map` (under the caller's shard lock).
template <typename Map, typename Fn>
bool UpdateLive(Map& map, std::string_view assignment_id, MonoTime now, Fn&& fn) {
  auto it = map.find(LookupKey(assignment_id));
  if (it == map.end() || it->second->expires <= now) return false;
  return fn(*it->second);
}
}  // namespace

bool CorrelationStore::MarkPublished(std::string_view assignment_id, int64_t stream_seq,
                                     bool duplicate, int64_t at_ms) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  return UpdateLive(shard.map, assignment_id, clock_.MonoNow(), [&](Rec& r) {
    if (r.published_at_ms == 0) {
      r.published_at_ms = when;
      r.stream_seq = stream_seq;
    }
    if (r.state == AssignmentState::kPending || r.state == AssignmentState::kPublishFailed) {
      r.state = AssignmentState::kPublished;
      r.fate = FateCode(duplicate ? PublishFate::kDeduplicated : PublishFate::kPublished);
    } else if (r.fate != kOtherFate && !StoredFate(r.fate)) {
      // A later state (acked / completed) keeps it; only the publish fields are filled.
      r.fate = FateCode(duplicate ? PublishFate::kDeduplicated : PublishFate::kPublished);
    }
    return true;
  });
}

bool CorrelationStore::MarkPublishFailed(std::string_view assignment_id, std::string_view fate) {
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  return UpdateLive(shard.map, assignment_id, clock_.MonoNow(), [&](Rec& r) {
    if (r.state != AssignmentState::kPending) return false;
    r.state = AssignmentState::kPublishFailed;
    r.SetFate(fate);
    return true;
  });
}

bool CorrelationStore::MarkPending(std::string_view assignment_id) {
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  return UpdateLive(shard.map, assignment_id, clock_.MonoNow(), [&](Rec& r) {
    if (r.state != AssignmentState::kPublishFailed) return false;
    r.state = AssignmentState::kPending;
    r.fate = kNoFate;
    return true;
  });
}

bool CorrelationStore::OnAck(std::string_view assignment_id, std::string_view status,
                             std::string_view message, int64_t at_ms) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  return UpdateLive(shard.map, assignment_id, clock_.MonoNow(), [&](Rec& r) {
    Rec::Extra& x = r.MutableExtra();
    if (x.ack_status.empty()) {
      x.ack_status = std::string(status);
      x.ack_message = std::string(message);
      x.acked_at_ms = when;
    }
    if (r.state != AssignmentState::kCompleted) r.state = AssignmentState::kAcked;
    return true;
  });
}

bool CorrelationStore::OnResult(std::string_view assignment_id, std::string_view status,
                                int64_t latency_ms, double cost, int64_t at_ms,
                                std::string_view error_code) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  return UpdateLive(shard.map, assignment_id, clock_.MonoNow(), [&](Rec& r) {
    if (r.state == AssignmentState::kCompleted) return false;
    r.state = AssignmentState::kCompleted;
    Rec::Extra& x = r.MutableExtra();
    x.result_status = std::string(status);
    x.latency_ms = latency_ms;
    x.cost = cost;
    x.error_code = std::string(error_code);
    x.completed_at_ms = when;
    return true;
  });
}

std::optional<AssignmentRecord> CorrelationStore::Get(std::string_view tenant_id,
                                                      std::string_view assignment_id) const {
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(LookupKey(assignment_id));
  if (it == shard.map.end() || it->second->expires <= clock_.MonoNow()) return std::nullopt;
  if (it->second->Get(Rec::kTenantId) != tenant_id) return std::nullopt;
  return it->second->ToRecord();
}

std::optional<AssignmentRecord> CorrelationStore::FindByRequest(std::string_view tenant_id,
                                                                std::string_view request_id) const {
  std::vector<std::pair<uint64_t, std::string>> ids;  // (creation seq, assignment_id)
  {
    const uint64_t h = RequestHash(tenant_id, request_id);
    IndexShard& ix = IndexFor(h);
    absl::MutexLock lock(&ix.mu);
    auto it = ix.map.find(h);
    if (it == ix.map.end()) return std::nullopt;
    for (const Rec* r : it->second) {
      // The strings are immutable and the record outlives its index entry.
      if (r->Get(Rec::kTenantId) == tenant_id && r->Get(Rec::kRequestId) == request_id) {
        ids.emplace_back(r->seq, std::string(r->Get(Rec::kAssignmentId)));
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    std::optional<AssignmentRecord> r = Get(tenant_id, it->second);
    if (r.has_value() && r->request_id == request_id) return r;
  }
  return std::nullopt;
}

size_t CorrelationStore::Sweep() {
  std::vector<RecPtr> expired, evicted;
  const MonoTime now = clock_.MonoNow();
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    shard->Trim(now, expired, evicted);
  }
  const size_t n = expired.size() + evicted.size();
  Unindex(expired, "expired");
  Unindex(evicted, "capacity");
  return n;
}

size_t CorrelationStore::Size() const { return size_.load(std::memory_order_relaxed); }
uint64_t CorrelationStore::EvictedExpired() const {
  return evicted_expired_.load(std::memory_order_relaxed);
}
uint64_t CorrelationStore::EvictedCapacity() const {
  return evicted_capacity_.load(std::memory_order_relaxed);
}

namespace {
int MissIndex(std::string_view source) {
  if (source == "results") return 0;
  if (source == "acks") return 1;
  if (source == "admin") return 2;
  return -1;
}
}  // namespace

void CorrelationStore::CountMiss(std::string_view source) const {
  const int i = MissIndex(source);
  if (i >= 0) misses_[i].fetch_add(1, std::memory_order_relaxed);
}

uint64_t CorrelationStore::Misses(std::string_view source) const {
  const int i = MissIndex(source);
  return i >= 0 ? misses_[i].load(std::memory_order_relaxed) : 0;
}

// ---------------------------------------------------------------- JSON (S10)

namespace {

void Str(std::string& out, std::string_view key, std::string_view value, bool first = false) {
  if (!first) out.push_back(',');
  policy::AppendJsonString(out, key);
  out.push_back(':');
  policy::AppendJsonString(out, value);
}

void Int(std::string& out, std::string_view key, int64_t value) {
  out.push_back(',');
  policy::AppendJsonString(out, key);
  out.push_back(':');
  out.append(std::to_string(value));
}

}  // namespace

std::string AssignmentRecordToJson(const AssignmentRecord& r) {
  std::string out = "{";
  Str(out, "assignment_id", r.assignment_id, true);
  Str(out, "request_id", r.request_id);
  Str(out, "trace_id", r.trace_id);
  Str(out, "tenant_id", r.tenant_id);
  Str(out, "policy_id", r.policy_id);
  Str(out, "provider_id", r.provider_id);
  Str(out, "decision_id", r.decision_id);
  Str(out, "state", AssignmentStateName(r.state));
  Str(out, "ack_status", r.ack_status);
  Str(out, "ack_message", r.ack_message);
  Str(out, "result_status", r.result_status);
  Int(out, "latency_ms", r.latency_ms);
  out.append(",\"cost\":");
  char buf[64];
  double cost = r.cost;
  if (!(cost == cost) || cost > 1e300 || cost < -1e300) cost = 0;  // JSON has no NaN/inf
  auto res = std::to_chars(buf, buf + sizeof(buf), cost);
  out.append(buf, res.ptr);
  Str(out, "error_code", r.error_code);
  Str(out, "subject", r.subject);
  Int(out, "created_at_ms", r.created_at_ms);
  Int(out, "published_at_ms", r.published_at_ms);
  Int(out, "acked_at_ms", r.acked_at_ms);
  Int(out, "completed_at_ms", r.completed_at_ms);
  Str(out, "publish_fate", r.publish_fate);
  Int(out, "stream_seq", r.stream_seq);
  out.push_back('}');
  return out;
}

std::optional<AssignmentRecord> AssignmentRecordFromJson(std::string_view json) {
  policy::JsonParseOptions options;
  options.max_bytes = 1 << 20;
  absl::StatusOr<policy::JsonValue> root = policy::ParseJson(json, options);
  if (!root.ok() || !root->IsObject()) return std::nullopt;
  AssignmentRecord r;
  bool has_id = false;
  for (const policy::JsonMember& m : root->members) {
    const policy::JsonValue& v = m.value;
    auto str = [&](std::string& dst) {
      if (v.IsString()) dst = v.str;
    };
    auto i64 = [&](int64_t& dst) {
      if (!v.IsNumber()) return;
      int64_t x = 0;
      auto [p, ec] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), x);
      if (ec == std::errc() && p == v.str.data() + v.str.size()) dst = x;
    };
    const std::string& k = m.key;
    if (k == "assignment_id") {
      str(r.assignment_id);
      has_id = v.IsString();
    } else if (k == "request_id") {
      str(r.request_id);
    } else if (k == "trace_id") {
      str(r.trace_id);
    } else if (k == "tenant_id") {
      str(r.tenant_id);
    } else if (k == "policy_id") {
      str(r.policy_id);
    } else if (k == "provider_id") {
      str(r.provider_id);
    } else if (k == "decision_id") {
      str(r.decision_id);
    } else if (k == "state" && v.IsString()) {
      for (AssignmentState s :
           {AssignmentState::kPending, AssignmentState::kPublished, AssignmentState::kPublishFailed,
            AssignmentState::kAcked, AssignmentState::kCompleted}) {
        if (AssignmentStateName(s) == v.str) r.state = s;
      }
    } else if (k == "ack_status") {
      str(r.ack_status);
    } else if (k == "ack_message") {
      str(r.ack_message);
    } else if (k == "result_status") {
      str(r.result_status);
    } else if (k == "latency_ms") {
      i64(r.latency_ms);
    } else if (k == "cost" && v.IsNumber()) {
      double x = 0;
      auto [p, ec] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), x);
      if (ec == std::errc()) r.cost = x;
      (void)p;
    } else if (k == "error_code") {
      str(r.error_code);
    } else if (k == "subject") {
      str(r.subject);
    } else if (k == "created_at_ms") {
      i64(r.created_at_ms);
    } else if (k == "published_at_ms") {
      i64(r.published_at_ms);
    } else if (k == "acked_at_ms") {
      i64(r.acked_at_ms);
    } else if (k == "completed_at_ms") {
      i64(r.completed_at_ms);
    } else if (k == "publish_fate") {
      str(r.publish_fate);
    } else if (k == "stream_seq") {
      i64(r.stream_seq);
    }
  }
  if (!has_id) return std::nullopt;
  return r;
}

}  // namespace router::service
