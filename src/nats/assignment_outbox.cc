#include "nats/assignment_outbox.h"

#include <algorithm>
#include <chrono>

#include "absl/time/time.h"
#include "core/random.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kMinRetryAfterMs = 100;
constexpr int64_t kResendMarginMs = 10000;  // duplicate window - 10 s (§6.2)
constexpr int64_t kRetentionSlackMs = 50;

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
    : options_(std::move(options)), clock_(clock), sender_(sender), hooks_(std::move(hooks)) {
  by_id_.reserve(std::min<size_t>(options_.capacity, 1 << 16));
  by_token_.reserve(std::min<size_t>(options_.max_outstanding, 1 << 16));
}

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

void AssignmentOutbox::Park(Entry& e, Waiter waiter, MonoTime now) {
  waiters_.push_back(
      ParkedWaiter{std::move(waiter), now, now + Ms(options_.publish_timeout_ms), &e});
  e.waiters.push_back(std::prev(waiters_.end()));
}

void AssignmentOutbox::Enqueue(Slot slot, OutboxMessage message, Waiter waiter) {
  auto shared = std::make_shared<const OutboxMessage>(std::move(message));
  Effects fx;
  {
    absl::MutexLock lock(&mu_);
    const MonoTime now = clock_.MonoNow();
    if (slot.owner_ == this) {
      slot.owner_ = nullptr;  // consumed: the entry takes the reserved place
      if (reserved_ > 0) --reserved_;
    }
    Entry& e = entries_.emplace_back();
    e.self = std::prev(entries_.end());
    e.seq = next_seq_++;
    e.created = now;
    e.due = now;
    e.message = shared;
    if (waiter) Park(e, std::move(waiter), now);
    const std::string_view id = e.message->assignment_id;
    // A second live entry with the same id takes over the id (its key must view its own copy).
    by_id_.erase(id);
    by_id_.emplace(id, &e);
    if (connected_ && outstanding_ < options_.max_outstanding && ready_new_.empty() &&
        ready_again_.empty() && !(shutdown_deadline_ && now >= *shutdown_deadline_)) {
      // Nothing older waits to be sent: send from this thread (FIFO holds), no pump hop.
      StartAttempt(e, now, fx);
      MonoTime first = std::min(e.attempt_deadline, e.created + Ms(options_.max_age_ms));
      if (!e.waiters.empty()) first = std::min(first, e.waiters.front()->deadline);
      NeedPumpBy(first);
    } else {
      e.place = Place::kReadyNew;
      ready_new_.PushBack(&e);
      wake_ = true;
    }
  }
  if (hooks_.on_enqueued) hooks_.on_enqueued(shared->tenant_id);
  if (!fx.sends.empty()) Run(fx);
}

bool AssignmentOutbox::Wait(std::string_view assignment_id, Waiter waiter) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = by_id_.find(assignment_id); it != by_id_.end()) {
      Park(*it->second, std::move(waiter), clock_.MonoNow());
      wake_ = true;
      return true;
    }
    if (retained_.find(assignment_id) == retained_.end()) return false;
  }
  WaitResult r;
  r.published = true;
  waiter(r);
  if (hooks_.on_reply_wait) hooks_.on_reply_wait(true, 0);
  return true;
}

int64_t AssignmentOutbox::RetryAfterMs(const Entry& e, MonoTime now) const {
  int64_t ms = options_.publish_timeout_ms;
  if (e.place != Place::kInFlight && e.due > now) ms = ToMs(e.due - now);
  return std::clamp<int64_t>(ms, std::min(kMinRetryAfterMs, options_.publish_timeout_ms),
                             options_.publish_timeout_ms);
}

void AssignmentOutbox::AnswerWaiters(Entry& e, bool published, MonoTime now, Effects& fx) {
  for (WaiterList::iterator w : e.waiters) {
    WaitResult r;
    r.published = published;
    r.retry_after_ms = published ? 0 : RetryAfterMs(e, now);
    r.waited_seconds = Seconds(now - w->parked_at);
    fx.replies.emplace_back(std::move(w->waiter), r);
    waiters_.erase(w);
  }
  e.waiters.clear();
}

void AssignmentOutbox::Unplace(Entry& e) {
  switch (e.place) {
    case Place::kReadyNew:
      ready_new_.Erase(&e);
      break;
    case Place::kReadyAgain:
      ready_again_.Erase(&e);
      break;
    case Place::kRetryWait:
      retry_wait_.Erase(&e);
      break;
    case Place::kInFlight:
      in_flight_.Erase(&e);
      by_token_.erase(e.token);
      if (outstanding_ > 0) --outstanding_;
      break;
    case Place::kNone:
      break;
  }
  e.place = Place::kNone;
}

void AssignmentOutbox::MakeReadyAgain(Entry& e) {
  Unplace(e);
  e.place = Place::kReadyAgain;
  ready_again_.Push(&e);
}

void AssignmentOutbox::WaitForRetry(Entry& e) {
  Unplace(e);
  e.place = Place::kRetryWait;
  retry_wait_.Push(&e);
}

AssignmentOutbox::Entry* AssignmentOutbox::PopReady() {
  Entry* fresh = ready_new_.front();
  Entry* again = ready_again_.empty() ? nullptr : ready_again_.top();
  Entry* e = (again != nullptr && (fresh == nullptr || again->seq < fresh->seq)) ? again : fresh;
  if (e != nullptr) Unplace(*e);
  return e;
}

void AssignmentOutbox::StartAttempt(Entry& e, MonoTime now, Effects& fx) {
  e.place = Place::kInFlight;
  ++e.attempts;
  e.token = next_token_++;
  e.attempt_deadline = now + Ms(options_.pub_ack_timeout_ms);
  in_flight_.PushBack(&e);
  by_token_.emplace(e.token, &e);
  ++outstanding_;
  fx.sends.emplace_back(e.token, e.message);
}

void AssignmentOutbox::Finish(Entry& e, AssignmentFate fate, uint64_t seq, MonoTime now,
                              Effects& fx) {
  Unplace(e);
  const bool stored = IsStored(fate);
  if (!stored) e.due = now;  // no next send: waiters get retry_after = publish_timeout_ms
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
  const std::string_view id = e.message->assignment_id;
  if (stored) {
    fx.publish_latencies.push_back(Seconds(now - e.created));
    if (auto old = retained_.find(id); old != retained_.end()) EraseRetained(old->second);
    RetainedEntry& r = retained_.try_emplace(id).first->second;
    r.message = e.message;
    r.first_send = e.created;
    r.until = now + Ms(options_.retain_after_ack_ms);
    retained_expiry_.PushBack(&r);
    NeedPumpBy(r.until);
  } else {
    fx.logs.emplace_back(std::string(AssignmentFateName(fate)), e.message->assignment_id);
  }
  if (auto it = by_id_.find(id); it != by_id_.end() && it->second == &e) by_id_.erase(it);
  entries_.erase(e.self);
  if (!ready_new_.empty() || !ready_again_.empty() || !retained_resend_.empty() ||
      shutdown_deadline_) {
    wake_ = true;  // a send slot is free for queued work (or a shutdown waits for the end)
  }
}

void AssignmentOutbox::EraseRetained(RetainedEntry& r) {
  if (RetainedQueue::Contains(&r)) {
    if (r.token != 0) {
      retained_inflight_.Erase(&r);
    } else if (r.resend_pending) {
      retained_resend_.Erase(&r);
    } else {
      retained_expiry_.Erase(&r);
    }
  }
  if (r.token != 0 && outstanding_ > 0) --outstanding_;
  // The key views r.message: erase by the key's own address.
  auto message = r.message;  // keeps the key alive during the erase
  retained_.erase(std::string_view(message->assignment_id));
}

void AssignmentOutbox::AttemptFailed(Entry& e, PublishError error, MonoTime now, Effects& fx) {
  if (e.place == Place::kInFlight) Unplace(e);
  e.last_error = error;
  if (!IsRetryable(error)) {
    Finish(e, AssignmentFate::kFailed, 0, now, fx);
    return;
  }
  if (!options_.immediate && e.attempts >= options_.max_attempts) {
    Finish(e, AssignmentFate::kRetriesExhausted, 0, now, fx);
    return;
  }
  e.due = now + Ms(RetryDelayMs(options_.retry_base_ms, options_.retry_max_ms,
                                std::max(e.attempts, 1), core::NextU64()));
  WaitForRetry(e);
  NeedPumpBy(e.due);
  fx.retries.push_back(error);
}

void AssignmentOutbox::OnResult(std::string_view assignment_id, uint64_t token,
                                const PubAckResult& result) {
  Effects fx;
  {
    absl::MutexLock lock(&mu_);
    const MonoTime now = clock_.MonoNow();
    auto it = by_token_.find(token);
    const bool current = it != by_token_.end();  // the entry's current attempt (hot path)
    if (current) {
      Entry& entry = *it->second;
      if (result.ok) {
        Finish(entry, result.duplicate ? AssignmentFate::kDeduplicated : AssignmentFate::kPublished,
               result.stream_seq, now, fx);
      } else {
        AttemptFailed(entry, result.error, now, fx);
      }
    } else if (auto r = retained_.find(assignment_id);
               r != retained_.end() && r->second.token == token) {
      // Re-send of a retained entry after a reconnect (§6.2).
      RetainedEntry& re = r->second;
      if (RetainedQueue::Contains(&re)) retained_inflight_.Erase(&re);
      re.token = 0;
      if (outstanding_ > 0) --outstanding_;
      if (result.ok) {
        re.resend_pending = false;
        re.until = now + Ms(options_.retain_after_ack_ms);
        retained_expiry_.PushBack(&re);
        if (!result.duplicate) fx.logs.emplace_back("restored", std::string(assignment_id));
      } else {
        retained_resend_.PushBack(&re);  // still pending: sent again
      }
    } else if (result.ok) {
      // A late positive result of an attempt that timed out or was cut: stored after all.
      if (auto live = by_id_.find(assignment_id); live != by_id_.end()) {
        Finish(*live->second,
               result.duplicate ? AssignmentFate::kDeduplicated : AssignmentFate::kPublished,
               result.stream_seq, now, fx);
      }
    }
    if (!current) wake_ = true;  // rare paths: let the pump re-evaluate
  }
  Run(fx);
}

void AssignmentOutbox::SetConnected(bool connected) {
  absl::MutexLock lock(&mu_);
  const MonoTime now = clock_.MonoNow();
  if (connected_ == connected) return;
  connected_ = connected;
  wake_ = true;
  if (connected) return;
  // Attempts cut by the disconnect are not counted; their results are ignored unless positive.
  // They are due again at once, in FIFO order with the rest.
  while (!in_flight_.empty()) {
    Entry& e = *in_flight_.front();
    e.attempts = std::max(e.attempts - 1, 0);
    e.due = now;
    MakeReadyAgain(e);
  }
  const MonoTime horizon = Ms(options_.duplicate_window_ms - kResendMarginMs);
  for (auto& [id, r] : retained_) {
    bool was_queued = RetainedQueue::Contains(&r);
    const bool was_pending = r.resend_pending;
    if (r.token != 0) {  // a re-send cut by this disconnect: re-sent after the next reconnect
      if (was_queued) retained_inflight_.Erase(&r);
      was_queued = false;
      r.token = 0;
      if (outstanding_ > 0) --outstanding_;
    }
    if (now - r.first_send < horizon) r.resend_pending = true;
    if (!r.resend_pending) continue;  // stays in retained_expiry_
    if (was_queued) {
      if (was_pending) continue;  // already waiting in retained_resend_
      retained_expiry_.Erase(&r);
    }
    retained_resend_.PushBack(&r);
  }
}

MonoTime AssignmentOutbox::PumpLocked(MonoTime now, Effects& fx) {
  const MonoTime max_age = Ms(options_.max_age_ms);
  const bool dropping = shutdown_deadline_ && now >= *shutdown_deadline_;
  if (dropping) {
    while (!entries_.empty())
      Finish(entries_.front(), AssignmentFate::kShutdownDropped, 0, now, fx);
  }
  // Expiry: entries_ is FIFO by creation, so only the oldest can be due.
  while (!entries_.empty() && now - entries_.front().created >= max_age) {
    Finish(entries_.front(), AssignmentFate::kExpired, 0, now, fx);
  }
  // PubAck timeouts: in_flight_ is FIFO by send, i.e. by attempt deadline.
  while (!in_flight_.empty() && now >= in_flight_.front()->attempt_deadline) {
    AttemptFailed(*in_flight_.front(), PublishError::kTimeout, now, fx);
  }
  while (!retry_wait_.empty() && retry_wait_.top()->due <= now) MakeReadyAgain(*retry_wait_.top());
  // Re-sends of retained entries without a result in time: sent again (a late positive result
  // of the old attempt is ignored; the next PubAck says duplicate).
  while (!retained_inflight_.empty() && now >= retained_inflight_.front()->attempt_deadline) {
    RetainedEntry* r = retained_inflight_.PopFront();
    r->token = 0;
    if (outstanding_ > 0) --outstanding_;
    retained_resend_.PushBack(r);
  }
  // Parked replies whose wait is over (§5.1); waiters_ is FIFO by deadline.
  while (!waiters_.empty() && now >= waiters_.front().deadline) {
    ParkedWaiter& w = waiters_.front();
    Entry& e = *w.owner;
    WaitResult r;
    r.published = false;
    r.retry_after_ms = RetryAfterMs(e, now);
    r.waited_seconds = Seconds(now - w.parked_at);
    fx.replies.emplace_back(std::move(w.waiter), r);
    e.waiters.erase(std::find(e.waiters.begin(), e.waiters.end(), waiters_.begin()));
    waiters_.pop_front();
  }
  if (connected_) {
    // FIFO by creation over the new and the again-ready entries.
    while (outstanding_ < options_.max_outstanding) {
      Entry* e = PopReady();
      if (e == nullptr) break;
      StartAttempt(*e, now, fx);
    }
    while (!dropping && outstanding_ < options_.max_outstanding && !retained_resend_.empty()) {
      RetainedEntry* r = retained_resend_.PopFront();
      r->token = next_token_++;
      r->attempt_deadline = now + Ms(options_.pub_ack_timeout_ms);
      retained_inflight_.PushBack(r);
      ++outstanding_;
      fx.sends.emplace_back(r->token, r->message);
    }
  }
  // Retention ends: retained_expiry_ is FIFO by `until`.
  while (!retained_expiry_.empty() && now >= retained_expiry_.front()->until) {
    EraseRetained(*retained_expiry_.front());
  }

  MonoTime next = MonoTime::max();
  if (!entries_.empty()) next = std::min(next, entries_.front().created + max_age);
  if (!in_flight_.empty()) next = std::min(next, in_flight_.front()->attempt_deadline);
  if (!retained_inflight_.empty()) {
    next = std::min(next, retained_inflight_.front()->attempt_deadline);
  }
  if (!waiters_.empty()) next = std::min(next, waiters_.front().deadline);
  if (connected_ && outstanding_ < options_.max_outstanding && !retry_wait_.empty()) {
    next = std::min(next, retry_wait_.top()->due);
  }
  // Retention ends are batched (kept at least retain_after_ack_ms, erased up to this much later),
  // so the pump does not wake at the PubAck rate.
  if (!retained_expiry_.empty()) {
    next = std::min(next, retained_expiry_.front()->until + Ms(kRetentionSlackMs));
  }
  if (shutdown_deadline_ && !entries_.empty()) next = std::min(next, *shutdown_deadline_);
  return next;
}

MonoTime AssignmentOutbox::Pump() {
  Effects fx;
  MonoTime next;
  {
    absl::MutexLock lock(&mu_);
    wake_ = false;
    planned_wake_ = MonoTime::min();
    next = PumpLocked(clock_.MonoNow(), fx);
  }
  Run(fx);
  return next;
}

void AssignmentOutbox::Run(Effects& fx) {
  for (auto& [token, message] : fx.sends) {
    std::optional<PublishError> error = sender_.Send(token, *message);
    if (!error) continue;
    // The send did not start: a disconnect is not counted as an attempt (§6.2).
    Effects more;
    {
      absl::MutexLock lock(&mu_);
      const MonoTime now = clock_.MonoNow();
      auto it = by_token_.find(token);
      if (it != by_token_.end()) {
        Entry& entry = *it->second;
        if (*error == PublishError::kDisconnected) {
          entry.attempts = std::max(entry.attempts - 1, 0);
          entry.due = now + Ms(options_.retry_base_ms);
          entry.last_error = *error;
          WaitForRetry(entry);
        } else {
          AttemptFailed(entry, *error, now, more);
        }
      } else if (auto r = retained_.find(message->assignment_id);
                 r != retained_.end() && r->second.token == token) {
        if (RetainedQueue::Contains(&r->second)) retained_inflight_.Erase(&r->second);
        r->second.token = 0;
        if (outstanding_ > 0) --outstanding_;
        retained_resend_.PushBack(&r->second);  // still pending
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
    const absl::Duration sleep = std::min(wait, absl::Seconds(1));
    planned_wake_ = now + MonoTime(absl::ToInt64Nanoseconds(sleep));
    mu_.AwaitWithTimeout(absl::Condition(&wake_), sleep);
    planned_wake_ = MonoTime::min();
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
