#include "nats/assignment_outbox.h"

#include <algorithm>
#include <chrono>

#include "absl/time/time.h"
#include "core/random.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kMinRetryAfterMs = 100;
constexpr int64_t kResendMarginMs = 10000;  // duplicate window - 10 s (§6.2)

MonoTime Ms(int64_t ms) { return std::chrono::milliseconds(ms); }
double Seconds(MonoTime d) { return std::chrono::duration<double>(d).count(); }
int64_t ToMs(MonoTime d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

std::string_view PublishErrorName(PublishError error) {
  switch (error) {
    case PublishError::kTimeout:
      return "timeout";
    case PublishError::kNoResponders:
      return "no_responders";
    case PublishError::kStreamNotFound:
      return "stream_not_found";
    case PublishError::kInsufficientResources:
      return "insufficient_resources";
    case PublishError::kLimitReached:
      return "limit_reached";
    case PublishError::kDisconnected:
      return "disconnected";
    case PublishError::kInvalidSubject:
      return "invalid_subject";
    case PublishError::kPayloadTooLarge:
      return "payload_too_large";
    case PublishError::kApiError:
      return "api_error";
  }
  return "api_error";
}

bool IsRetryable(PublishError error) {
  switch (error) {
    case PublishError::kTimeout:
    case PublishError::kNoResponders:
    case PublishError::kStreamNotFound:
    case PublishError::kInsufficientResources:
    case PublishError::kLimitReached:
    case PublishError::kDisconnected:
      return true;
    default:
      return false;
  }
}

std::string_view AssignmentFateName(AssignmentFate fate) {
  switch (fate) {
    case AssignmentFate::kPublished:
      return "published";
    case AssignmentFate::kDeduplicated:
      return "deduplicated";
    case AssignmentFate::kFailed:
      return "failed";
    case AssignmentFate::kRetriesExhausted:
      return "retries_exhausted";
    case AssignmentFate::kExpired:
      return "expired";
    case AssignmentFate::kShutdownDropped:
      return "shutdown_dropped";
  }
  return "failed";
}

int64_t RetryDelayMs(int64_t base_ms, int64_t max_ms, int64_t k, uint64_t random) {
  int64_t delay = base_ms;
  for (int64_t i = 1; i < k && delay < max_ms; ++i) delay *= 2;
  delay = std::min(delay, max_ms);
  // +-20 %: uniform in [0.8 d, 1.2 d].
  const int64_t span = delay * 2 / 5;
  const int64_t offset =
      span > 0 ? static_cast<int64_t>(random % static_cast<uint64_t>(span + 1)) : 0;
  return std::max<int64_t>(delay - delay / 5 + offset, 0);
}

AssignmentOutbox::Slot& AssignmentOutbox::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void AssignmentOutbox::Slot::Release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->ReleaseSlot();
}

AssignmentOutbox::AssignmentOutbox(OutboxOptions options, const Clock& clock, OutboxSender& sender,
                                   OutboxHooks hooks)
    : options_(std::move(options)), clock_(clock), sender_(sender), hooks_(std::move(hooks)) {}

AssignmentOutbox::~AssignmentOutbox() {
  {
    absl::MutexLock lock(&mu_);
    stop_thread_ = true;
    wake_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

AssignmentOutbox::Slot AssignmentOutbox::TryReserve() {
  {
    absl::MutexLock lock(&mu_);
    if (accepting_ && entries_.size() + reserved_ < options_.capacity) {
      ++reserved_;
      return Slot(this);
    }
  }
  if (hooks_.on_rejected) hooks_.on_rejected();
  return Slot();
}

void AssignmentOutbox::ReleaseSlot() {
  absl::MutexLock lock(&mu_);
  if (reserved_ > 0) --reserved_;
}

void AssignmentOutbox::Enqueue(Slot slot, OutboxMessage message, Waiter waiter) {
  const MonoTime now = clock_.MonoNow();
  std::string tenant = message.tenant_id;
  {
    absl::MutexLock lock(&mu_);
    if (slot.owner_ == this) {
      slot.owner_ = nullptr;  // consumed: the entry takes the reserved place
      if (reserved_ > 0) --reserved_;
    }
    Entry e;
    e.created = now;
    e.due = now;
    if (waiter) {
      e.waiters.push_back(
          ParkedWaiter{std::move(waiter), now, now + Ms(options_.publish_timeout_ms)});
    }
    const std::string id = message.assignment_id;
    e.message = std::make_shared<const OutboxMessage>(std::move(message));
    entries_.push_back(std::move(e));
    by_id_[id] = std::prev(entries_.end());
    wake_ = true;
  }
  if (hooks_.on_enqueued) hooks_.on_enqueued(tenant);
}

bool AssignmentOutbox::Wait(std::string_view assignment_id, Waiter waiter) {
  const MonoTime now = clock_.MonoNow();
  {
    absl::MutexLock lock(&mu_);
    const std::string id(assignment_id);
    if (auto it = by_id_.find(id); it != by_id_.end()) {
      it->second->waiters.push_back(
          ParkedWaiter{std::move(waiter), now, now + Ms(options_.publish_timeout_ms)});
      wake_ = true;
      return true;
    }
    if (retained_.find(id) == retained_.end()) return false;
  }
  WaitResult r;
  r.published = true;
  waiter(r);
  if (hooks_.on_reply_wait) hooks_.on_reply_wait(true, 0);
  return true;
}

int64_t AssignmentOutbox::RetryAfterMs(const Entry& e, MonoTime now) const {
  int64_t ms = options_.publish_timeout_ms;
  if (e.state == State::kQueued && e.due > now) ms = ToMs(e.due - now);
  return std::clamp<int64_t>(ms, std::min(kMinRetryAfterMs, options_.publish_timeout_ms),
                             options_.publish_timeout_ms);
}

void AssignmentOutbox::AnswerWaiters(Entry& e, bool published, MonoTime now, Effects& fx) {
  for (auto& w : e.waiters) {
    WaitResult r;
    r.published = published;
    r.retry_after_ms = published ? 0 : RetryAfterMs(e, now);
    r.waited_seconds = Seconds(now - w.parked_at);
    fx.replies.emplace_back(std::move(w.waiter), r);
  }
  e.waiters.clear();
}

void AssignmentOutbox::Finish(EntryList::iterator it, AssignmentFate fate, uint64_t seq,
                              MonoTime now, Effects& fx) {
  Entry& e = *it;
  if (e.state == State::kInFlight) {
    by_token_.erase(e.token);
    if (outstanding_ > 0) --outstanding_;
  }
  const bool stored = IsStored(fate);
  if (!stored) {
    e.state = State::kQueued;
    e.due = now;  // no next send: waiters get retry_after = publish_timeout_ms
  }
  AnswerWaiters(e, stored, now, fx);
  FateEvent ev;
  ev.assignment_id = e.message->assignment_id;
  ev.tenant_id = e.message->tenant_id;
  ev.fate = fate;
  ev.stream_seq = seq;
  ev.last_error = e.last_error;
  ev.attempts = e.attempts;
  ev.age_seconds = Seconds(now - e.created);
  fx.fates.push_back(std::move(ev));
  if (stored) {
    fx.publish_latencies.push_back(Seconds(now - e.created));
    RetainedEntry r;
    r.message = e.message;
    r.first_send = e.created;
    r.until = now + Ms(options_.retain_after_ack_ms);
    retained_[e.message->assignment_id] = std::move(r);
  } else {
    fx.logs.emplace_back(std::string(AssignmentFateName(fate)), e.message->assignment_id);
  }
  by_id_.erase(e.message->assignment_id);
  entries_.erase(it);
  wake_ = true;
}

void AssignmentOutbox::AttemptFailed(EntryList::iterator it, PublishError error, MonoTime now,
                                     Effects& fx) {
  Entry& e = *it;
  if (e.state == State::kInFlight) {
    by_token_.erase(e.token);
    if (outstanding_ > 0) --outstanding_;
    e.state = State::kQueued;
  }
  e.last_error = error;
  if (!IsRetryable(error)) {
    Finish(it, AssignmentFate::kFailed, 0, now, fx);
    return;
  }
  if (!options_.immediate && e.attempts >= options_.max_attempts) {
    Finish(it, AssignmentFate::kRetriesExhausted, 0, now, fx);
    return;
  }
  e.due = now + Ms(RetryDelayMs(options_.retry_base_ms, options_.retry_max_ms,
                                std::max(e.attempts, 1), core::NextU64()));
  fx.retries.push_back(error);
}

void AssignmentOutbox::OnResult(std::string_view assignment_id, uint64_t token,
                                const PubAckResult& result) {
  const MonoTime now = clock_.MonoNow();
  Effects fx;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_token_.find(token);
    if (it != by_token_.end()) {
      EntryList::iterator entry = it->second;
      if (result.ok) {
        Finish(entry, result.duplicate ? AssignmentFate::kDeduplicated : AssignmentFate::kPublished,
               result.stream_seq, now, fx);
      } else {
        AttemptFailed(entry, result.error, now, fx);
      }
    } else {
      const std::string id(assignment_id);
      if (auto r = retained_.find(id); r != retained_.end() && r->second.token == token) {
        // Re-send of a retained entry after a reconnect (§6.2).
        r->second.token = 0;
        if (outstanding_ > 0) --outstanding_;
        if (result.ok) {
          r->second.resend_pending = false;
          r->second.until = now + Ms(options_.retain_after_ack_ms);
          if (!result.duplicate) fx.logs.emplace_back("restored", id);
        }
      } else if (result.ok) {
        // A late positive result of an attempt that timed out or was cut: stored after all.
        if (auto live = by_id_.find(id); live != by_id_.end()) {
          Finish(live->second,
                 result.duplicate ? AssignmentFate::kDeduplicated : AssignmentFate::kPublished,
                 result.stream_seq, now, fx);
        }
      }
    }
    wake_ = true;
  }
  Run(fx);
}

void AssignmentOutbox::SetConnected(bool connected) {
  const MonoTime now = clock_.MonoNow();
  absl::MutexLock lock(&mu_);
  if (connected_ == connected) return;
  connected_ = connected;
  wake_ = true;
  if (connected) return;
  // Attempts cut by the disconnect are not counted; their results are ignored unless positive.
  for (auto& e : entries_) {
    if (e.state != State::kInFlight) continue;
    by_token_.erase(e.token);
    if (outstanding_ > 0) --outstanding_;
    e.state = State::kQueued;
    e.attempts = std::max(e.attempts - 1, 0);
    e.due = now;
  }
  const MonoTime horizon = Ms(options_.duplicate_window_ms - kResendMarginMs);
  for (auto& [id, r] : retained_) {
    if (r.token != 0) {
      r.token = 0;
      if (outstanding_ > 0) --outstanding_;
    }
    if (now - r.first_send < horizon) r.resend_pending = true;
  }
}

MonoTime AssignmentOutbox::PumpLocked(MonoTime now, Effects& fx) {
  MonoTime next = MonoTime::max();
  const MonoTime max_age = Ms(options_.max_age_ms);
  const bool dropping = shutdown_deadline_ && now >= *shutdown_deadline_;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto cur = it++;
    Entry& e = *cur;
    if (dropping) {
      Finish(cur, AssignmentFate::kShutdownDropped, 0, now, fx);
      continue;
    }
    if (now - e.created >= max_age) {
      Finish(cur, AssignmentFate::kExpired, 0, now, fx);
      continue;
    }
    if (e.state == State::kInFlight && now >= e.attempt_deadline) {
      const std::string id = e.message->assignment_id;
      AttemptFailed(cur, PublishError::kTimeout, now, fx);
      if (by_id_.find(id) == by_id_.end()) continue;  // it ended (cur is gone)
    }
    // Parked replies whose wait is over (§5.1).
    for (size_t i = 0; i < e.waiters.size();) {
      if (now >= e.waiters[i].deadline) {
        WaitResult r;
        r.published = false;
        r.retry_after_ms = RetryAfterMs(e, now);
        r.waited_seconds = Seconds(now - e.waiters[i].parked_at);
        fx.replies.emplace_back(std::move(e.waiters[i].waiter), r);
        e.waiters.erase(e.waiters.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        next = std::min(next, e.waiters[i].deadline);
        ++i;
      }
    }
    if (e.state == State::kQueued && connected_ && now >= e.due &&
        outstanding_ < options_.max_outstanding) {
      e.state = State::kInFlight;
      ++e.attempts;
      e.token = next_token_++;
      e.attempt_deadline = now + Ms(options_.pub_ack_timeout_ms);
      by_token_[e.token] = cur;
      ++outstanding_;
      fx.sends.emplace_back(e.token, e.message);
    }
    if (e.state == State::kInFlight) {
      next = std::min(next, e.attempt_deadline);
    } else if (connected_ && outstanding_ < options_.max_outstanding) {
      next = std::min(next, e.due);
    }
    next = std::min(next, e.created + max_age);
  }
  for (auto it = retained_.begin(); it != retained_.end();) {
    RetainedEntry& r = it->second;
    if (r.resend_pending && connected_ && r.token == 0 && !dropping &&
        outstanding_ < options_.max_outstanding) {
      r.token = next_token_++;
      ++outstanding_;
      fx.sends.emplace_back(r.token, r.message);
    }
    if (!r.resend_pending && r.token == 0 && now >= r.until) {
      it = retained_.erase(it);
      continue;
    }
    if (!r.resend_pending && r.token == 0) next = std::min(next, r.until);
    ++it;
  }
  if (shutdown_deadline_ && !entries_.empty()) next = std::min(next, *shutdown_deadline_);
  return next;
}

MonoTime AssignmentOutbox::Pump() {
  const MonoTime now = clock_.MonoNow();
  Effects fx;
  MonoTime next;
  {
    absl::MutexLock lock(&mu_);
    wake_ = false;
    next = PumpLocked(now, fx);
  }
  Run(fx);
  return next;
}

void AssignmentOutbox::Run(Effects& fx) {
  for (auto& [token, message] : fx.sends) {
    std::optional<PublishError> error = sender_.Send(token, *message);
    if (!error) continue;
    // The send did not start: a disconnect is not counted as an attempt (§6.2).
    const MonoTime now = clock_.MonoNow();
    Effects more;
    {
      absl::MutexLock lock(&mu_);
      auto it = by_token_.find(token);
      if (it != by_token_.end()) {
        EntryList::iterator entry = it->second;
        if (*error == PublishError::kDisconnected) {
          by_token_.erase(token);
          if (outstanding_ > 0) --outstanding_;
          entry->state = State::kQueued;
          entry->attempts = std::max(entry->attempts - 1, 0);
          entry->due = now + Ms(options_.retry_base_ms);
          entry->last_error = *error;
        } else {
          AttemptFailed(entry, *error, now, more);
        }
      } else if (auto r = retained_.find(message->assignment_id);
                 r != retained_.end() && r->second.token == token) {
        r->second.token = 0;
        if (outstanding_ > 0) --outstanding_;
      }
      wake_ = true;
    }
    // `more` never holds sends (AttemptFailed only schedules).
    fx.fates.insert(fx.fates.end(), std::make_move_iterator(more.fates.begin()),
                    std::make_move_iterator(more.fates.end()));
    for (auto& r : more.replies) fx.replies.push_back(std::move(r));
    fx.retries.insert(fx.retries.end(), more.retries.begin(), more.retries.end());
    fx.logs.insert(fx.logs.end(), more.logs.begin(), more.logs.end());
  }
  for (PublishError e : fx.retries) {
    if (hooks_.on_retry) hooks_.on_retry(e);
  }
  for (double s : fx.publish_latencies) {
    if (hooks_.on_publish_latency) hooks_.on_publish_latency(s);
  }
  for (const FateEvent& ev : fx.fates) {
    if (hooks_.on_fate) hooks_.on_fate(ev);
  }
  for (auto& [waiter, result] : fx.replies) {
    if (waiter) waiter(result);
    if (hooks_.on_reply_wait) hooks_.on_reply_wait(result.published, result.waited_seconds);
  }
  if (hooks_.on_log) {
    for (const auto& [event, id] : fx.logs) {
      if (event == "restored") {
        hooks_.on_log("assignment.restored",
                      "retained assignment re-sent after a reconnect was stored again",
                      {{"assignment_id", id}});
      } else {
        hooks_.on_log("assignment.publish_failed", "assignment not stored",
                      {{"assignment_id", id}, {"fate", event}});
      }
    }
  }
}

void AssignmentOutbox::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { ThreadLoop(); });
}

void AssignmentOutbox::ThreadLoop() {
  while (true) {
    const MonoTime next = Pump();
    absl::MutexLock lock(&mu_);
    if (stop_thread_ && (entries_.empty() || !shutdown_deadline_)) return;
    if (wake_) continue;
    const MonoTime now = clock_.MonoNow();
    const absl::Duration wait =
        next == MonoTime::max()
            ? absl::Seconds(1)
            : absl::Nanoseconds((next > now ? next - now : MonoTime(0)).count());
    mu_.AwaitWithTimeout(absl::Condition(&wake_), std::min(wait, absl::Seconds(1)));
  }
}

void AssignmentOutbox::BeginShutdown(MonoTime deadline) {
  absl::MutexLock lock(&mu_);
  accepting_ = false;
  shutdown_deadline_ = deadline;
  wake_ = true;
}

void AssignmentOutbox::Stop(int64_t timeout_ms) {
  BeginShutdown(clock_.MonoNow() + Ms(std::max<int64_t>(timeout_ms, 0)));
  {
    absl::MutexLock lock(&mu_);
    stop_thread_ = true;
    wake_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // No pump thread: drop what is live now.
    {
      absl::MutexLock lock(&mu_);
      shutdown_deadline_ = clock_.MonoNow();
    }
    Pump();
  }
}

size_t AssignmentOutbox::Depth() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

size_t AssignmentOutbox::Outstanding() const {
  absl::MutexLock lock(&mu_);
  return outstanding_;
}

size_t AssignmentOutbox::Retained() const {
  absl::MutexLock lock(&mu_);
  return retained_.size();
}

double AssignmentOutbox::OldestAgeSeconds() const {
  const MonoTime now = clock_.MonoNow();
  absl::MutexLock lock(&mu_);
  if (entries_.empty()) return 0;
  return Seconds(now - entries_.front().created);
}

}  // namespace router::nats_adapter
