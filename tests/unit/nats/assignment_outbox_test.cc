// AssignmentOutbox: the outbox rules of nats-contracts.md §6.2 and the parked replies of §5.1,
// driven by a FakeClock and a fake sender (no NATS).

#include "nats/assignment_outbox.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

using std::chrono::milliseconds;

class FakeSender : public OutboxSender {
 public:
  struct Sent {
    uint64_t token;
    std::string id;
    std::string msg_id;  // Nats-Msg-Id header
  };
  std::optional<PublishError> Send(uint64_t token, const OutboxMessage& m) override {
    if (fail_next) return std::exchange(fail_next, std::nullopt);
    std::string msg_id;
    for (const auto& [k, v] : m.headers) {
      if (k == "Nats-Msg-Id") msg_id = v;
    }
    sent.push_back({token, m.assignment_id, msg_id});
    return std::nullopt;
  }
  std::vector<Sent> sent;
  std::optional<PublishError> fail_next;
};

OutboxMessage Msg(const std::string& id) {
  OutboxMessage m;
  m.assignment_id = id;
  m.tenant_id = "acme";
  m.subject = "caf.exec.assign.v1";
  m.body = "{}";
  m.headers = {{"Nats-Msg-Id", id}};
  return m;
}

PubAckResult Ack(uint64_t seq, bool dup = false) {
  PubAckResult r;
  r.ok = true;
  r.stream_seq = seq;
  r.duplicate = dup;
  return r;
}
PubAckResult Err(PublishError e) {
  PubAckResult r;
  r.ok = false;
  r.error = e;
  return r;
}

class OutboxTest : public ::testing::Test {
 protected:
  void Make(OutboxOptions o) {
    OutboxHooks hooks;
    hooks.on_fate = [this](const FateEvent& ev) { fates[ev.assignment_id].push_back(ev); };
    hooks.on_retry = [this](PublishError) { ++retries; };
    hooks.on_rejected = [this] { ++rejected; };
    outbox = std::make_unique<AssignmentOutbox>(o, clock, sender, hooks);
    outbox->SetConnected(true);
  }
  // Enqueues `id` with a waiter recording into replies[id].
  void Push(const std::string& id, bool wait = true) {
    auto slot = outbox->TryReserve();
    ASSERT_TRUE(slot.valid());
    Waiter w;
    if (wait) w = [this, id](const WaitResult& r) { replies[id].push_back(r); };
    outbox->Enqueue(std::move(slot), Msg(id), std::move(w));
  }
  void Advance(int64_t ms) {
    clock.Advance(milliseconds(ms));
    outbox->Pump();
  }
  AssignmentFate FateOf(const std::string& id) {
    EXPECT_EQ(fates[id].size(), 1u) << id;
    return fates[id].empty() ? AssignmentFate::kFailed : fates[id].back().fate;
  }

  testing::FakeClock clock;
  FakeSender sender;
  std::unique_ptr<AssignmentOutbox> outbox;
  std::map<std::string, std::vector<FateEvent>> fates;
  std::map<std::string, std::vector<WaitResult>> replies;
  int retries = 0;
  int rejected = 0;
};

// §6.2 retry: min(100 ms x 2^(k-1), 2000 ms) +-20 %.
TEST(RetryDelayTest, DoublesUpToTheCapWithTwentyPercentJitter) {
  const int64_t want[] = {100, 200, 400, 800, 1600, 2000, 2000};
  for (int64_t k = 1; k <= 7; ++k) {
    const int64_t d = want[k - 1];
    EXPECT_EQ(RetryDelayMs(100, 2000, k, 0), d - d / 5) << k;
    EXPECT_EQ(RetryDelayMs(100, 2000, k, d * 2 / 5), d + d / 5) << k;
    for (uint64_t r : {1ull, 77ull, 123456789ull}) {
      const int64_t got = RetryDelayMs(100, 2000, k, r);
      EXPECT_GE(got, d * 8 / 10);
      EXPECT_LE(got, d * 12 / 10);
    }
  }
}

// §5 step 6: no free slot -> outbox_full; reservations count towards the bound.
TEST_F(OutboxTest, CapacityCountsEntriesAndReservations) {
  OutboxOptions o;
  o.capacity = 2;
  Make(o);
  Push("a");
  auto s2 = outbox->TryReserve();
  EXPECT_TRUE(s2.valid());
  EXPECT_FALSE(outbox->TryReserve().valid());
  EXPECT_EQ(rejected, 1);
  s2.Release();
  EXPECT_TRUE(outbox->TryReserve().valid());  // released again at once (temporary)
  EXPECT_EQ(outbox->Depth(), 1u);
}

// §5.1 after_publish: the parked reply is sent from the PubAck; Nats-Msg-Id = assignment_id.
TEST_F(OutboxTest, PubAckAnswersParkedReplyAndRetains) {
  Make(OutboxOptions{});
  Push("a");
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 1u);
  EXPECT_EQ(sender.sent[0].msg_id, "a");
  EXPECT_TRUE(replies["a"].empty());
  outbox->OnResult("a", sender.sent[0].token, Ack(7));
  ASSERT_EQ(replies["a"].size(), 1u);
  EXPECT_TRUE(replies["a"][0].published);
  EXPECT_EQ(FateOf("a"), AssignmentFate::kPublished);
  EXPECT_EQ(fates["a"][0].stream_seq, 7u);
  EXPECT_EQ(outbox->Depth(), 0u);
  EXPECT_EQ(outbox->Retained(), 1u);
  Advance(1000);  // retain_after_ack_ms
  EXPECT_EQ(outbox->Retained(), 0u);
}

TEST_F(OutboxTest, DuplicatePubAckIsDeduplicated) {
  Make(OutboxOptions{});
  Push("a");
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Ack(3, /*dup=*/true));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kDeduplicated);
  EXPECT_TRUE(replies["a"][0].published);  // a duplicate PubAck counts (§5.1)
}

// §6.2: retryable errors are retried with the same Nats-Msg-Id after the backoff; after
// max_attempts sends in after_publish mode the entry ends retries_exhausted.
TEST_F(OutboxTest, RetriesThenExhaustsInAfterPublishMode) {
  OutboxOptions o;
  o.max_attempts = 3;
  o.publish_timeout_ms = 60000;  // keep the waiter parked
  Make(o);
  Push("a");
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 1u);
  outbox->OnResult("a", sender.sent[0].token, Err(PublishError::kNoResponders));
  Advance(79);  // < 100 ms - 20 %
  EXPECT_EQ(sender.sent.size(), 1u);
  Advance(41);  // >= 120 ms
  ASSERT_EQ(sender.sent.size(), 2u);
  EXPECT_EQ(sender.sent[1].msg_id, "a");
  outbox->OnResult("a", sender.sent[1].token, Err(PublishError::kStreamNotFound));
  Advance(240);
  ASSERT_EQ(sender.sent.size(), 3u);
  outbox->OnResult("a", sender.sent[2].token, Err(PublishError::kTimeout));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kRetriesExhausted);
  EXPECT_EQ(retries, 2);
  ASSERT_EQ(replies["a"].size(), 1u);
  EXPECT_FALSE(replies["a"][0].published);
  EXPECT_EQ(replies["a"][0].retry_after_ms, 60000);  // no next send: publish_timeout_ms
}

TEST_F(OutboxTest, NonRetryableErrorFails) {
  Make(OutboxOptions{});
  Push("a");
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Err(PublishError::kPayloadTooLarge));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kFailed);
  EXPECT_EQ(fates["a"][0].last_error, PublishError::kPayloadTooLarge);
  EXPECT_FALSE(replies["a"][0].published);
}

// §6.2: a send without a result within pub_ack_timeout_ms is a retryable timeout; a late
// positive result of that attempt still publishes the entry.
TEST_F(OutboxTest, PubAckTimeoutRetriesAndLatePositiveResultCounts) {
  OutboxOptions o;
  o.pub_ack_timeout_ms = 500;
  o.publish_timeout_ms = 60000;
  Make(o);
  Push("a");
  outbox->Pump();
  Advance(500);
  EXPECT_EQ(retries, 1);
  outbox->OnResult("a", sender.sent[0].token, Ack(9));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kPublished);
  EXPECT_TRUE(replies["a"][0].published);
}

// §5.1: no PubAck within publish_timeout_ms -> not persisted, retry_after = time to the next
// send (clamped 100 .. publish_timeout_ms); the entry stays and keeps being retried.
TEST_F(OutboxTest, ParkedReplyTimesOutWithRetryAfterAndEntryLivesOn) {
  OutboxOptions o;
  o.publish_timeout_ms = 500;
  o.max_attempts = 10;
  Make(o);
  Push("a");
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Err(PublishError::kNoResponders));
  Advance(150);  // second send
  ASSERT_EQ(sender.sent.size(), 2u);
  outbox->OnResult("a", sender.sent[1].token,
                   Err(PublishError::kNoResponders));  // next in 160..240
  Advance(350);                                        // t = 500: the wait is over
  ASSERT_EQ(replies["a"].size(), 1u);
  EXPECT_FALSE(replies["a"][0].published);
  EXPECT_GE(replies["a"][0].retry_after_ms, 100);
  EXPECT_LE(replies["a"][0].retry_after_ms, 500);
  EXPECT_EQ(outbox->Depth(), 1u);
  // A replay waits again (§7.1) and gets the PubAck.
  std::vector<WaitResult> again;
  EXPECT_TRUE(outbox->Wait("a", [&](const WaitResult& r) { again.push_back(r); }));
  Advance(300);
  ASSERT_GE(sender.sent.size(), 3u);
  outbox->OnResult("a", sender.sent.back().token, Ack(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].published);
  EXPECT_EQ(replies["a"].size(), 1u);  // answered once only
}

// §5.1 immediate: retried beyond max_attempts until max_age_ms, then expired.
TEST_F(OutboxTest, ImmediateModeRetriesUntilMaxAgeThenExpires) {
  OutboxOptions o;
  o.immediate = true;
  o.max_attempts = 2;
  o.max_age_ms = 3000;
  Make(o);
  Push("a", /*wait=*/false);
  for (int i = 0; i < 40 && fates["a"].empty(); ++i) {
    outbox->Pump();
    if (!sender.sent.empty() && outbox->Outstanding() == 1) {
      outbox->OnResult("a", sender.sent.back().token, Err(PublishError::kStreamNotFound));
    }
    Advance(100);
  }
  EXPECT_GT(sender.sent.size(), 2u);
  EXPECT_EQ(FateOf("a"), AssignmentFate::kExpired);
  EXPECT_GE(fates["a"][0].age_seconds, 3.0);
}

// §6.2: disconnected -> nothing sent, the cut attempt is not counted, expiry still runs;
// reconnect drains in FIFO order.
TEST_F(OutboxTest, DisconnectPausesAndReconnectDrainsFifo) {
  OutboxOptions o;
  o.max_attempts = 1;
  o.publish_timeout_ms = 60000;
  Make(o);
  Push("a");
  outbox->Pump();  // a in flight
  outbox->SetConnected(false);
  Push("b");
  Push("c");
  Advance(5000);
  EXPECT_EQ(sender.sent.size(), 1u);
  outbox->OnResult("a", sender.sent[0].token, Err(PublishError::kDisconnected));  // stale
  EXPECT_TRUE(fates["a"].empty());
  outbox->SetConnected(true);
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 4u);
  EXPECT_EQ(sender.sent[1].id, "a");  // the cut attempt did not use up max_attempts = 1
  EXPECT_EQ(sender.sent[2].id, "b");
  EXPECT_EQ(sender.sent[3].id, "c");
  for (size_t i = 1; i < 4; ++i) outbox->OnResult(sender.sent[i].id, sender.sent[i].token, Ack(i));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kPublished);
  EXPECT_EQ(FateOf("c"), AssignmentFate::kPublished);
}

TEST_F(OutboxTest, ExpiryRunsWhileDisconnected) {
  OutboxOptions o;
  o.max_age_ms = 3000;
  o.publish_timeout_ms = 500;
  Make(o);
  outbox->SetConnected(false);
  Push("a");
  Advance(500);
  ASSERT_EQ(replies["a"].size(), 1u);
  EXPECT_FALSE(replies["a"][0].published);
  EXPECT_EQ(replies["a"][0].retry_after_ms, 500);
  Advance(2500);
  EXPECT_EQ(FateOf("a"), AssignmentFate::kExpired);
  EXPECT_TRUE(sender.sent.empty());
}

// §6.2: at most max_outstanding sends without a result.
TEST_F(OutboxTest, MaxOutstandingIsCountedByTheOutbox) {
  OutboxOptions o;
  o.max_outstanding = 2;
  Make(o);
  Push("a");
  Push("b");
  Push("c");
  outbox->Pump();
  EXPECT_EQ(sender.sent.size(), 2u);
  EXPECT_EQ(outbox->Outstanding(), 2u);
  outbox->OnResult("a", sender.sent[0].token, Ack(1));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 3u);
  EXPECT_EQ(sender.sent[2].id, "c");
}

// §6.2 post-ack retention: a disconnect re-sends the retained entries after the reconnect.
TEST_F(OutboxTest, RetainedEntriesAreResentAfterReconnect) {
  Make(OutboxOptions{});
  Push("a");
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Ack(1));
  outbox->SetConnected(false);
  Advance(5000);  // beyond retain_after_ack_ms: kept for the re-send
  EXPECT_EQ(outbox->Retained(), 1u);
  outbox->SetConnected(true);
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 2u);
  EXPECT_EQ(sender.sent[1].msg_id, "a");
  outbox->OnResult("a", sender.sent[1].token, Ack(1, /*dup=*/true));
  EXPECT_EQ(fates["a"].size(), 1u);  // still one fate per entry
  Advance(1000);
  EXPECT_EQ(outbox->Retained(), 0u);
}

// A re-send after a reconnect whose PubAck never comes is sent again once pub_ack_timeout_ms
// has passed (the sender reports no timeouts of its own), and stops counting as outstanding.
TEST_F(OutboxTest, RetainedResendWithoutResultIsSentAgain) {
  OutboxOptions o;
  o.pub_ack_timeout_ms = 500;
  Make(o);
  Push("a");
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Ack(1));
  outbox->SetConnected(false);
  outbox->SetConnected(true);
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 2u);
  EXPECT_EQ(outbox->Outstanding(), 1u);
  Advance(499);
  EXPECT_EQ(sender.sent.size(), 2u);
  Advance(1);
  ASSERT_EQ(sender.sent.size(), 3u);
  EXPECT_EQ(sender.sent[2].msg_id, "a");
  EXPECT_EQ(outbox->Outstanding(), 1u);
  // The late result of the abandoned attempt changes nothing; the current one confirms it.
  outbox->OnResult("a", sender.sent[1].token, Ack(1, /*dup=*/true));
  EXPECT_EQ(outbox->Outstanding(), 1u);
  outbox->OnResult("a", sender.sent[2].token, Ack(1, /*dup=*/true));
  EXPECT_EQ(outbox->Outstanding(), 0u);
  EXPECT_EQ(fates["a"].size(), 1u);
  // A re-send cut by another disconnect is re-sent after the next reconnect, never twice.
  outbox->SetConnected(false);
  outbox->SetConnected(true);
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 4u);
  outbox->SetConnected(false);
  EXPECT_EQ(outbox->Outstanding(), 0u);
  outbox->SetConnected(true);
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 5u);
  Advance(500);
  ASSERT_EQ(sender.sent.size(), 6u);
  outbox->OnResult("a", sender.sent[5].token, Ack(1, /*dup=*/true));
  EXPECT_EQ(outbox->Outstanding(), 0u);
  Advance(1000);
  EXPECT_EQ(outbox->Retained(), 0u);
}

// §8 graceful shutdown: no reservations; live entries at the deadline end shutdown_dropped.
TEST_F(OutboxTest, ShutdownDropsWhatIsLeftAtTheDeadline) {
  Make(OutboxOptions{});
  outbox->SetConnected(false);
  Push("a");
  outbox->BeginShutdown(clock.MonoNow() + milliseconds(100));
  EXPECT_FALSE(outbox->TryReserve().valid());
  Advance(50);
  EXPECT_TRUE(fates["a"].empty());
  Advance(50);
  EXPECT_EQ(FateOf("a"), AssignmentFate::kShutdownDropped);
  ASSERT_EQ(replies["a"].size(), 1u);
  EXPECT_FALSE(replies["a"][0].published);
}

// A send that cannot start because the connection is down is not an attempt.
TEST_F(OutboxTest, SendRefusedWhileDisconnectedIsNotCounted) {
  OutboxOptions o;
  o.max_attempts = 1;
  Make(o);
  sender.fail_next = PublishError::kDisconnected;
  Push("a");
  outbox->Pump();
  EXPECT_TRUE(fates["a"].empty());
  Advance(100);
  ASSERT_EQ(sender.sent.size(), 1u);
  outbox->OnResult("a", sender.sent[0].token, Ack(1));
  EXPECT_EQ(FateOf("a"), AssignmentFate::kPublished);
}

TEST_F(OutboxTest, WaitOnRetainedEntryAnswersPublishedAtOnce) {
  Make(OutboxOptions{});
  Push("a", false);
  outbox->Pump();
  outbox->OnResult("a", sender.sent[0].token, Ack(1));
  bool published = false;
  EXPECT_TRUE(outbox->Wait("a", [&](const WaitResult& r) { published = r.published; }));
  EXPECT_TRUE(published);
  EXPECT_FALSE(outbox->Wait("zz", [](const WaitResult&) {}));
}

// §6.2 FIFO with many entries: the pump sends in creation order across fresh entries and
// entries whose retry time has passed, and a retried entry waits its backoff (100 ms +-20 %)
// however many others pass it meanwhile. Every entry ends with exactly one fate.
TEST_F(OutboxTest, ManyEntriesKeepFifoAcrossRetriesAndBackoff) {
  OutboxOptions o;
  o.capacity = 5000;
  o.max_outstanding = 2000;
  o.publish_timeout_ms = 60000;
  Make(o);
  auto id = [](int i) { return "a" + std::to_string(i); };
  for (int i = 0; i < 1000; ++i) Push(id(i));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(sender.sent[i].id, id(i));
  // Even entries fail (retryable), odd ones are stored.
  for (int i = 0; i < 1000; ++i) {
    outbox->OnResult(id(i), sender.sent[i].token,
                     i % 2 == 0 ? Err(PublishError::kNoResponders) : Ack(i + 1));
  }
  EXPECT_EQ(retries, 500);
  EXPECT_EQ(outbox->Depth(), 500u);
  for (int i = 1000; i < 2000; ++i) Push(id(i));
  outbox->Pump();  // the new ones go out; the failed ones wait for their backoff
  ASSERT_EQ(sender.sent.size(), 2000u);
  for (int i = 1000; i < 2000; ++i) ASSERT_EQ(sender.sent[i].id, id(i));
  for (int i = 1000; i < 2000; ++i) outbox->OnResult(id(i), sender.sent[i].token, Ack(i + 1));
  Advance(79);  // < 100 ms - 20 %
  EXPECT_EQ(sender.sent.size(), 2000u);
  Advance(41);  // >= 100 ms + 20 %: every retry is due, sent oldest first
  ASSERT_EQ(sender.sent.size(), 2500u);
  for (int k = 0; k < 500; ++k) {
    ASSERT_EQ(sender.sent[2000 + k].id, id(2 * k));
    EXPECT_EQ(sender.sent[2000 + k].msg_id, id(2 * k));  // same Nats-Msg-Id on every attempt
  }
  for (int k = 0; k < 500; ++k) {
    outbox->OnResult(id(2 * k), sender.sent[2000 + k].token, Ack(3000 + k));
  }
  EXPECT_EQ(outbox->Depth(), 0u);
  EXPECT_EQ(outbox->Outstanding(), 0u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(FateOf(id(i)), AssignmentFate::kPublished) << i;
    ASSERT_EQ(replies[id(i)].size(), 1u) << i;
    EXPECT_TRUE(replies[id(i)][0].published);
  }
  EXPECT_EQ(outbox->Retained(), 2000u);
  Advance(1000);  // retain_after_ack_ms
  EXPECT_EQ(outbox->Retained(), 0u);
}

// §6.2: an older entry whose retry became due goes before newer entries once a send slot
// (max_outstanding) is free again.
TEST_F(OutboxTest, DueRetriesGoBeforeNewerEntriesWhenSlotsFree) {
  OutboxOptions o;
  o.max_outstanding = 10;
  o.publish_timeout_ms = 60000;
  Make(o);
  auto id = [](int i) { return "b" + std::to_string(i); };
  for (int i = 0; i < 30; ++i) Push(id(i));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    outbox->OnResult(id(i), sender.sent[i].token, Err(PublishError::kInsufficientResources));
  }
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 20u);
  for (int i = 10; i < 20; ++i) EXPECT_EQ(sender.sent[i].id, id(i));
  Advance(120);  // retries due, but every send slot is taken
  EXPECT_EQ(sender.sent.size(), 20u);
  for (int i = 10; i < 20; ++i) outbox->OnResult(id(i), sender.sent[i].token, Ack(i));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 30u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sender.sent[20 + i].id, id(i));
  for (int i = 20; i < 30; ++i) outbox->OnResult(id(i - 20), sender.sent[i].token, Ack(i));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 40u);
  for (int i = 30; i < 40; ++i) EXPECT_EQ(sender.sent[i].id, id(i - 10));
}

// §6.2: PubAck timeouts of many in-flight attempts fire in send order, each after exactly
// pub_ack_timeout_ms; parked replies time out after publish_timeout_ms in park order (§5.1).
TEST_F(OutboxTest, ManyTimeoutsFireInSendOrder) {
  OutboxOptions o;
  o.pub_ack_timeout_ms = 500;
  o.publish_timeout_ms = 700;
  o.max_attempts = 10;
  Make(o);
  auto id = [](int i) { return "c" + std::to_string(i); };
  for (int i = 0; i < 100; ++i) Push(id(i));
  outbox->Pump();
  Advance(100);
  for (int i = 100; i < 200; ++i) Push(id(i));
  outbox->Pump();
  ASSERT_EQ(sender.sent.size(), 200u);
  Advance(399);  // t = 499
  EXPECT_EQ(retries, 0);
  Advance(1);  // t = 500: the first hundred time out
  EXPECT_EQ(retries, 100);
  EXPECT_EQ(outbox->Outstanding(), 100u);
  Advance(100);  // t = 600: the second hundred (and the first retries are not yet timed out)
  EXPECT_EQ(retries, 200);
  Advance(100);  // t = 700: the first hundred's replies time out, not the second's
  int answered = 0;
  for (int i = 0; i < 200; ++i) answered += static_cast<int>(replies[id(i)].size());
  EXPECT_EQ(answered, 100);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(replies[id(i)].size(), 1u);
    EXPECT_FALSE(replies[id(i)][0].published);
  }
  Advance(100);  // t = 800
  for (int i = 100; i < 200; ++i) ASSERT_EQ(replies[id(i)].size(), 1u);
  EXPECT_EQ(outbox->Depth(), 200u);  // the entries live on and keep being retried
}

}  // namespace
}  // namespace router::nats_adapter
