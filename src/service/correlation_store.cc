#include "service/correlation_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
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

std::string IndexKey(std::string_view tenant_id, std::string_view request_id) {
  std::string k;
  k.reserve(tenant_id.size() + request_id.size() + 1);
  k.append(tenant_id);
  k.push_back('\x01');  // tenant ids never contain control characters
  k.append(request_id);
  return k;
}

// Heterogeneous lookup key: this abseil's string hash takes absl::string_view, which is not
// std::string_view here.
absl::string_view LookupKey(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Newest-first ordering across shards.
std::atomic<uint64_t> g_creation_seq{1};

}  // namespace

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

struct CorrelationStore::Shard {
  static RemovedRef Ref(AssignmentRecord&& r) {
    return RemovedRef{std::move(r.tenant_id), std::move(r.request_id), std::move(r.assignment_id)};
  }
  struct Node {
    AssignmentRecord record;
    MonoTime expires{};
    uint64_t seq = 0;
  };
  explicit Shard(size_t cap) : capacity(cap) {}

  mutable absl::Mutex mu;
  // Swiss table (one probe of the control bytes, then the node): at the default 200,000
  // records the lookups miss the cache, and std::unordered_map's bucket chains cost two
  // misses more. Nodes are stable; lookups take a string_view (no key copy).
  absl::node_hash_map<std::string, Node> map ABSL_GUARDED_BY(mu);
  std::deque<std::pair<uint64_t, std::string>> fifo ABSL_GUARDED_BY(mu);  // creation order
  const size_t capacity;

  // Removes expired records from the front, then the oldest while over capacity.
  void Trim(MonoTime now, std::vector<RemovedRef>& expired, std::vector<RemovedRef>& evicted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!fifo.empty()) {
      auto it = map.find(fifo.front().second);
      if (it == map.end() || it->second.seq != fifo.front().first) {
        fifo.pop_front();
        continue;
      }
      if (it->second.expires <= now) {
        expired.push_back(Ref(std::move(it->second.record)));
      } else if (map.size() > capacity) {
        evicted.push_back(Ref(std::move(it->second.record)));
      } else {
        break;
      }
      map.erase(it);
      fifo.pop_front();
    }
  }
};

struct CorrelationStore::IndexShard {
  mutable absl::Mutex mu;
  // (tenant, request_id) -> (creation seq, assignment_id), oldest first (almost always one).
  absl::flat_hash_map<std::string, absl::InlinedVector<std::pair<uint64_t, std::string>, 1>> map
      ABSL_GUARDED_BY(mu);
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

CorrelationStore::IndexShard& CorrelationStore::IndexFor(std::string_view tenant_id,
                                                         std::string_view request_id) const {
  const size_t h =
      std::hash<std::string_view>{}(tenant_id)*31 + std::hash<std::string_view>{}(request_id);
  return *index_[h & (index_.size() - 1)];
}

void CorrelationStore::Unindex(const std::vector<RemovedRef>& removed, std::string_view reason) {
  for (const RemovedRef& r : removed) {
    IndexShard& ix = IndexFor(r.tenant_id, r.request_id);
    absl::MutexLock lock(&ix.mu);
    auto it = ix.map.find(IndexKey(r.tenant_id, r.request_id));
    if (it == ix.map.end()) continue;
    auto& ids = it->second;
    ids.erase(std::remove_if(ids.begin(), ids.end(),
                             [&](const auto& p) { return p.second == r.assignment_id; }),
              ids.end());
    if (ids.empty()) ix.map.erase(it);
  }
  if (removed.empty()) return;
  size_.fetch_sub(removed.size(), std::memory_order_relaxed);
  (reason == "expired" ? evicted_expired_ : evicted_capacity_)
      .fetch_add(removed.size(), std::memory_order_relaxed);
  if (options_.on_evict) {
    for (size_t i = 0; i < removed.size(); ++i) options_.on_evict(reason);
  }
}

bool CorrelationStore::Create(AssignmentRecord record) {
  if (record.assignment_id.empty()) return false;
  record.state = AssignmentState::kPending;
  record.ack_status.clear();
  record.ack_message.clear();
  record.result_status.clear();
  record.latency_ms = 0;
  record.cost = 0;
  record.error_code.clear();
  record.published_at_ms = 0;
  record.acked_at_ms = 0;
  record.completed_at_ms = 0;
  record.publish_fate.clear();
  record.stream_seq = 0;
  if (record.created_at_ms == 0) record.created_at_ms = clock_.WallMs();

  const uint64_t seq = g_creation_seq.fetch_add(1, std::memory_order_relaxed);
  // The request index entry is built before the record moves into its shard.
  std::string index_key = IndexKey(record.tenant_id, record.request_id);
  IndexShard& ix = IndexFor(record.tenant_id, record.request_id);
  std::string id = record.assignment_id;
  std::vector<RemovedRef> expired, evicted;
  Shard& shard = ShardFor(id);
  {
    absl::MutexLock lock(&shard.mu);
    const MonoTime now = clock_.MonoNow();
    auto [it, inserted] = shard.map.try_emplace(id);
    if (!inserted) {
      if (it->second.expires > now) return false;
      // An expired record with this id: replaced in place (its FIFO entry goes stale).
      expired.push_back(Shard::Ref(std::move(it->second.record)));
    }
    Shard::Node& node = it->second;
    node.record = std::move(record);
    node.expires = now + std::chrono::seconds(std::max<int64_t>(0, options_.ttl_s));
    node.seq = seq;
    shard.fifo.emplace_back(seq, id);
    size_.fetch_add(1, std::memory_order_relaxed);  // a replaced record leaves via Unindex
    shard.Trim(now, expired, evicted);
  }
  // Unindex first: a replaced expired record may share this id (and request key).
  Unindex(expired, "expired");
  Unindex(evicted, "capacity");
  {
    absl::MutexLock lock(&ix.mu);
    ix.map[std::move(index_key)].emplace_back(seq, std::move(id));
  }
  return true;
}

bool CorrelationStore::Update(std::string_view assignment_id,
                              const std::function<bool(AssignmentRecord&)>& fn) {
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(LookupKey(assignment_id));
  if (it == shard.map.end() || it->second.expires <= clock_.MonoNow()) return false;
  return fn(it->second.record);
}

bool CorrelationStore::MarkPublished(std::string_view assignment_id, int64_t stream_seq,
                                     bool duplicate, int64_t at_ms) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  return Update(assignment_id, [&](AssignmentRecord& r) {
    if (r.published_at_ms == 0) {
      r.published_at_ms = when;
      r.stream_seq = stream_seq;
    }
    if (r.state == AssignmentState::kPending || r.state == AssignmentState::kPublishFailed) {
      r.state = AssignmentState::kPublished;
      r.publish_fate = duplicate ? "deduplicated" : "published";
    } else if (r.publish_fate.empty() || r.publish_fate == "failed" ||
               r.publish_fate == "retries_exhausted" || r.publish_fate == "expired" ||
               r.publish_fate == "shutdown_dropped") {
      r.publish_fate = duplicate ? "deduplicated" : "published";
    }
    return true;
  });
}

bool CorrelationStore::MarkPublishFailed(std::string_view assignment_id, std::string_view fate) {
  return Update(assignment_id, [&](AssignmentRecord& r) {
    if (r.state != AssignmentState::kPending) return false;
    r.state = AssignmentState::kPublishFailed;
    r.publish_fate = std::string(fate);
    return true;
  });
}

bool CorrelationStore::MarkPending(std::string_view assignment_id) {
  return Update(assignment_id, [&](AssignmentRecord& r) {
    if (r.state != AssignmentState::kPublishFailed) return false;
    r.state = AssignmentState::kPending;
    r.publish_fate.clear();
    return true;
  });
}

bool CorrelationStore::OnAck(std::string_view assignment_id, std::string_view status,
                             std::string_view message, int64_t at_ms) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  return Update(assignment_id, [&](AssignmentRecord& r) {
    if (r.ack_status.empty()) {
      r.ack_status = std::string(status);
      r.ack_message = std::string(message);
      r.acked_at_ms = when;
    }
    if (r.state != AssignmentState::kCompleted) r.state = AssignmentState::kAcked;
    return true;
  });
}

bool CorrelationStore::OnResult(std::string_view assignment_id, std::string_view status,
                                int64_t latency_ms, double cost, int64_t at_ms,
                                std::string_view error_code) {
  const int64_t when = at_ms != 0 ? at_ms : clock_.WallMs();
  return Update(assignment_id, [&](AssignmentRecord& r) {
    if (r.state == AssignmentState::kCompleted) return false;
    r.state = AssignmentState::kCompleted;
    r.result_status = std::string(status);
    r.latency_ms = latency_ms;
    r.cost = cost;
    r.error_code = std::string(error_code);
    r.completed_at_ms = when;
    return true;
  });
}

std::optional<AssignmentRecord> CorrelationStore::Get(std::string_view tenant_id,
                                                      std::string_view assignment_id) const {
  Shard& shard = ShardFor(assignment_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(LookupKey(assignment_id));
  if (it == shard.map.end() || it->second.expires <= clock_.MonoNow()) return std::nullopt;
  if (it->second.record.tenant_id != tenant_id) return std::nullopt;
  return it->second.record;
}

std::optional<AssignmentRecord> CorrelationStore::FindByRequest(std::string_view tenant_id,
                                                                std::string_view request_id) const {
  std::vector<std::pair<uint64_t, std::string>> ids;
  {
    IndexShard& ix = IndexFor(tenant_id, request_id);
    absl::MutexLock lock(&ix.mu);
    auto it = ix.map.find(IndexKey(tenant_id, request_id));
    if (it == ix.map.end()) return std::nullopt;
    ids.assign(it->second.begin(), it->second.end());
  }
  std::sort(ids.begin(), ids.end());
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    std::optional<AssignmentRecord> r = Get(tenant_id, it->second);
    if (r.has_value() && r->request_id == request_id) return r;
  }
  return std::nullopt;
}

size_t CorrelationStore::Sweep() {
  std::vector<RemovedRef> expired, evicted;
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
