// Backpressure status of nats-contracts.md §9.
#include "service/backpressure.h"

#include <algorithm>
#include <cmath>

#include "obs/logging/logger.h"
#include "obs/metrics/metric_def.h"

namespace router::service {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

obs::GaugeFamily* FindGauge(obs::RouterMetrics* m, std::string_view name) {
  return m != nullptr && m->registry ? m->registry->FindGauge(name) : nullptr;
}
obs::CounterFamily* FindCounter(obs::RouterMetrics* m, std::string_view name) {
  return m != nullptr && m->registry ? m->registry->FindCounter(name) : nullptr;
}

}  // namespace

std::string_view BackpressureStatusName(BackpressureStatus status) {
  switch (status) {
    case BackpressureStatus::kWarning:
      return "warning";
    case BackpressureStatus::kActive:
      return "active";
    case BackpressureStatus::kInactive:
      break;
  }
  return "inactive";
}

// ------------------------------------------------------------------ DecideTicket

DecideTicket::DecideTicket(DecideTicket&& other) noexcept
    : monitor_(other.monitor_), start_(other.start_) {
  other.monitor_ = nullptr;
}

DecideTicket& DecideTicket::operator=(DecideTicket&& other) noexcept {
  if (this != &other) {
    End();
    monitor_ = other.monitor_;
    start_ = other.start_;
    other.monitor_ = nullptr;
  }
  return *this;
}

void DecideTicket::End() {
  if (monitor_ == nullptr) return;
  BackpressureMonitor* m = monitor_;
  monitor_ = nullptr;
  m->Finish(start_);
}

// ------------------------------------------------------------------ BackpressureMonitor

BackpressureMonitor::BackpressureMonitor(BackpressureOptions options, const Clock& clock,
                                         obs::RouterMetrics* metrics)
    : options_(options),
      clock_(clock),
      metrics_(metrics),
      status_gauge_(FindGauge(metrics, "router_backpressure_status")),
      signal_gauge_(FindGauge(metrics, "router_backpressure_signal_overloaded")),
      p95_gauge_(FindGauge(metrics, "router_backpressure_latency_p95_seconds")),
      rejections_(FindCounter(metrics, "router_backpressure_rejections_total")),
      events_(FindCounter(metrics, "router_backpressure_events_total")),
      recoveries_(FindCounter(metrics, "router_backpressure_recovery_total")) {
  auto bounds = obs::BucketBounds(obs::BucketLayout::kFast);
  bounds_.assign(bounds.begin(), bounds.end());
  bounds_.resize(kBuckets - 1, bounds_.empty() ? 10.0 : bounds_.back());
  absl::MutexLock lock(&mu_);
  report_.signals_unknown = {"pending"};
}

BackpressureMonitor::~BackpressureMonitor() { Stop(); }

void BackpressureMonitor::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void BackpressureMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BackpressureMonitor::Run() {
  const absl::Duration interval =
      absl::Milliseconds(static_cast<int64_t>(options_.recompute_interval.count()));
  while (true) {
    Recompute();
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), interval)) return;
  }
}

DecideTicket BackpressureMonitor::Begin() {
  inflight_.fetch_add(1, std::memory_order_relaxed);
  return DecideTicket(this, clock_.MonoNow());
}

void BackpressureMonitor::AddInflightSource(std::function<int64_t()> source) {
  absl::MutexLock lock(&mu_);
  sources_.push_back(std::move(source));
}

void BackpressureMonitor::SetPending(int64_t pending) {
  pending_.store(pending, std::memory_order_relaxed);
  pending_at_ns_.store(clock_.MonoNow().count(), std::memory_order_release);
}

void BackpressureMonitor::Finish(MonoTime start) {
  inflight_.fetch_sub(1, std::memory_order_relaxed);
  RecordLatency(clock_.MonoNow() - start);
}

int64_t BackpressureMonitor::SecondOf(MonoTime t) const {
  return std::max<int64_t>(0, t.count()) / kNsPerSecond;
}

void BackpressureMonitor::RecordLatency(std::chrono::nanoseconds duration) {
  const int64_t s = SecondOf(clock_.MonoNow());
  Slot& slot = slots_[static_cast<size_t>(s % kSlots)];
  int64_t stamp = slot.second.load(std::memory_order_acquire);
  if (stamp > s) return;  // a straggler from a second that left the window
  if (stamp < s) {
    absl::MutexLock lock(&slot_mu_);
    stamp = slot.second.load(std::memory_order_relaxed);
    if (stamp > s) return;
    if (stamp < s) {
      for (auto& c : slot.counts) c.store(0, std::memory_order_relaxed);
      slot.second.store(s, std::memory_order_release);
    }
  }
  const double v = std::chrono::duration<double>(duration).count();
  const size_t idx = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                         bounds_.begin());  // v <= bound
  slot.counts[idx].fetch_add(1, std::memory_order_relaxed);
}

double BackpressureMonitor::WindowP95(int64_t now_s) const {
  std::array<uint64_t, kBuckets> counts{};
  uint64_t total = 0;
  for (const Slot& slot : slots_) {
    const int64_t s = slot.second.load(std::memory_order_acquire);
    if (s < now_s - kWindowSeconds || s > now_s) continue;
    for (size_t i = 0; i < counts.size(); ++i) {
      const uint64_t c = slot.counts[i].load(std::memory_order_relaxed);
      counts[i] += c;
      total += c;
    }
  }
  if (total == 0) return 0;
  // histogram_quantile: rank q x total, linear inside the bucket; +Inf -> the last bound.
  const double rank = 0.95 * static_cast<double>(total);
  double cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double before = cumulative;
    cumulative += static_cast<double>(counts[i]);
    if (cumulative >= rank && counts[i] > 0) {
      if (i + 1 == counts.size()) return bounds_.back();
      const double lower = i == 0 ? 0 : bounds_[i - 1];
      const double upper = bounds_[i];
      return lower + (upper - lower) * (rank - before) / static_cast<double>(counts[i]);
    }
  }
  return bounds_.back();
}

void BackpressureMonitor::CountRejection(Transport transport) const {
  if (auto* f = rejections_) {
    f->Get({TransportName(transport)}).Inc();
  }
}

void BackpressureMonitor::Recompute() {
  const MonoTime now = clock_.MonoNow();
  const int64_t now_s = SecondOf(now);

  // Pre-clear the next second's slot so its first observation rarely takes slot_mu_.
  {
    Slot& next = slots_[static_cast<size_t>((now_s + 1) % kSlots)];
    if (next.second.load(std::memory_order_acquire) < now_s + 1) {
      absl::MutexLock lock(&slot_mu_);
      if (next.second.load(std::memory_order_relaxed) < now_s + 1) {
        for (auto& c : next.counts) c.store(0, std::memory_order_relaxed);
        next.second.store(now_s + 1, std::memory_order_release);
      }
    }
  }

  std::vector<std::function<int64_t()>> sources;
  {
    absl::MutexLock lock(&mu_);
    sources = sources_;
  }
  int64_t inflight = std::max<int64_t>(0, inflight_.load(std::memory_order_relaxed));
  for (const auto& source : sources) inflight += std::max<int64_t>(0, source());

  const double p95 = WindowP95(now_s);
  const int64_t pending_at = pending_at_ns_.load(std::memory_order_acquire);
  std::optional<int64_t> pending;
  if (pending_at >= 0 && now - MonoTime(pending_at) <
                             std::chrono::duration_cast<MonoTime>(options_.pending_stale_after)) {
    pending = pending_.load(std::memory_order_relaxed);
  }

  const bool inflight_over = inflight > options_.inflight_overload;
  const bool latency_over = p95 * 1000.0 > static_cast<double>(options_.latency_overload_ms);
  const bool pending_over = pending.has_value() && *pending > options_.queue_overload;
  const int over = int{inflight_over} + int{latency_over} + int{pending_over};
  BackpressureStatus next = over == 0   ? BackpressureStatus::kInactive
                            : over == 1 ? BackpressureStatus::kWarning
                                        : BackpressureStatus::kActive;
  if (!options_.enabled) next = BackpressureStatus::kInactive;

  BackpressureReport report;
  report.status = next;
  report.inflight = inflight;
  report.latency_p95_seconds = p95;
  report.latency_p95_ms = static_cast<int64_t>(std::ceil(p95 * 1000.0 - 1e-9));
  report.pending = pending;
  if (inflight_over) report.signals_over.emplace_back("inflight");
  if (latency_over) report.signals_over.emplace_back("latency_p95");
  if (pending_over) report.signals_over.emplace_back("pending");
  if (!pending) report.signals_unknown.emplace_back("pending");
  report.computed_at_ms = clock_.WallMs();

  const auto previous = static_cast<BackpressureStatus>(
      status_.exchange(static_cast<uint8_t>(next), std::memory_order_relaxed));
  {
    absl::MutexLock lock(&mu_);
    report_ = report;
  }

  if (auto* g = status_gauge_) {
    g->Get().Set(static_cast<double>(next));
  }
  if (auto* g = signal_gauge_) {
    g->Get({"inflight"}).Set(inflight_over ? 1 : 0);
    g->Get({"latency_p95"}).Set(latency_over ? 1 : 0);
    g->Get({"pending"}).Set(pending_over ? 1 : 0);
  }
  if (auto* g = p95_gauge_) {
    g->Get().Set(p95);
  }
  if (next == previous) return;

  const std::string_view entered = BackpressureStatusName(next);
  if (auto* c = events_) {
    c->Get({entered}).Inc();
  }
  if (next == BackpressureStatus::kInactive) {
    if (auto* c = recoveries_) c->Get().Inc();
  }
  std::string signals;
  for (const auto& s : report.signals_over) signals += (signals.empty() ? "" : ",") + s;
  obs::Logger& logger = obs::GlobalLogger();
  const obs::LogLevel level =
      next == BackpressureStatus::kActive ? obs::LogLevel::kWarn : obs::LogLevel::kInfo;
  logger
      .At(level, "decide", "backpressure.changed",
          "backpressure " + std::string(BackpressureStatusName(previous)) + " -> " +
              std::string(entered))
      .Field("from", BackpressureStatusName(previous))
      .Field("to", entered)
      .Field("signals", signals)
      .Field("inflight", inflight)
      .Field("latency_p95_ms", report.latency_p95_ms);
}

BackpressureReport BackpressureMonitor::Report() const {
  absl::MutexLock lock(&mu_);
  return report_;
}

}  // namespace router::service
