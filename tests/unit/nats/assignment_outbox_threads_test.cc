// AssignmentOutbox under real threads (nats-contracts.md §6.2, §5.1): several decide threads
// enqueue (sending inline when nothing older waits), the outbox's own pump thread sends retries,
// and a PubAck thread reports results, some of them retryable failures and some sends refused
// as disconnected. Whatever the interleaving, every entry ends with exactly one fate and every
// parked reply is answered exactly once (§6.2 "Fates, one per outbox entry"; §5.1).

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/system_clock.h"
#include "nats/assignment_outbox.h"
#include "support/wait_for.h"

namespace router::nats_adapter {
namespace {

constexpr int kProducers = 4;
constexpr int kPerProducer = 2500;
constexpr int kTotal = kProducers * kPerProducer;

int IndexOf(const std::string& id) { return std::stoi(id.substr(1)); }

// Queues every send for the PubAck thread; refuses every 97th send as `disconnected`.
class QueueSender : public OutboxSender {
 public:
  struct Sent {
    uint64_t token;
    std::string id;
  };
  std::optional<PublishError> Send(uint64_t token, const OutboxMessage& m) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (++sends_ % 97 == 0) return PublishError::kDisconnected;
    queue_.push_back({token, m.assignment_id});
    cv_.notify_one();
    return std::nullopt;
  }
  // Blocks until a send is queued or Close() was called.
  std::optional<Sent> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    Sent s = std::move(queue_.front());
    queue_.pop_front();
    return s;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Sent> queue_;
  uint64_t sends_ = 0;
  bool closed_ = false;
};

TEST(OutboxThreadsTest, EveryEntryEndsOnceUnderConcurrentEnqueueSendAndAck) {
  SystemClock clock;
  QueueSender sender;
  std::vector<std::atomic<int>> fates(kTotal);
  std::vector<std::atomic<int>> replies(kTotal);
  std::vector<std::atomic<int>> published_replies(kTotal);
  std::vector<std::atomic<int>> first_results(kTotal);
  std::atomic<int> fate_count{0};
  OutboxHooks hooks;
  hooks.on_fate = [&](const FateEvent& ev) {
    EXPECT_TRUE(IsStored(ev.fate)) << ev.assignment_id;
    fates[IndexOf(ev.assignment_id)].fetch_add(1);
    fate_count.fetch_add(1);
  };
  OutboxOptions o;
  o.capacity = kTotal;
  o.max_outstanding = 64;  // small: producers also queue behind in-flight sends
  o.max_attempts = 5;
  o.publish_timeout_ms = 60000;
  auto outbox = std::make_unique<AssignmentOutbox>(o, clock, sender, hooks);
  outbox->SetConnected(true);
  outbox->Start();

  // PubAck thread: the first result of every 10th entry is a retryable failure.
  std::thread acker([&] {
    uint64_t seq = 0;
    while (auto s = sender.Next()) {
      const int i = IndexOf(s->id);
      PubAckResult r;
      if (first_results[i].fetch_add(1) == 0 && i % 10 == 0) {
        r.ok = false;
        r.error = PublishError::kNoResponders;
      } else {
        r.ok = true;
        r.stream_seq = ++seq;
      }
      outbox->OnResult(s->id, s->token, r);
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int k = 0; k < kPerProducer; ++k) {
        const int i = p * kPerProducer + k;
        AssignmentOutbox::Slot slot = outbox->TryReserve();
        ASSERT_TRUE(slot.valid());
        OutboxMessage m;
        m.assignment_id = "a" + std::to_string(i);
        m.tenant_id = "acme";
        m.subject = "caf.exec.assign.v1";
        m.body = "{}";
        outbox->Enqueue(std::move(slot), std::move(m), [&, i](const WaitResult& r) {
          replies[i].fetch_add(1);
          if (r.published) published_replies[i].fetch_add(1);
        });
      }
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_TRUE(testing::WaitFor([&] { return fate_count.load() >= kTotal; },
                               std::chrono::seconds(30), "every fate")
                  .ok());
  outbox->Stop(0);
  sender.Close();
  acker.join();
  for (int i = 0; i < kTotal; ++i) {
    ASSERT_EQ(fates[i].load(), 1) << i;
    ASSERT_EQ(replies[i].load(), 1) << i;
    ASSERT_EQ(published_replies[i].load(), 1) << i;
  }
  EXPECT_EQ(fate_count.load(), kTotal);
  EXPECT_EQ(outbox->Depth(), 0u);
  EXPECT_EQ(outbox->Outstanding(), 0u);
}

}  // namespace
}  // namespace router::nats_adapter
