#pragma once
// DlqPublisher: sends DLQ envelopes (nats-contracts.md §3.8, S8) off the decide threads. A
// bounded FIFO feeds one thread that publishes each message to JetStream (stream ROUTER_DLQ)
// and waits for its PubAck (at most 3 attempts, 100/200 ms apart), or as a core publish when
// JetStream is off. While the connection is down an attempt fails at once: nothing relies on
// the client's reconnect buffer (§8). Failures are counted (`dlq_publish_failed`) and logged
// with the envelope's subject and reason, never its payload.
//
// Thread-safety: Enqueue() is thread-safe and never blocks; Start()/Stop() are called by the
// owner. Stop() stops accepting, publishes what is queued until its deadline, then joins.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nats/connection.h"
#include "nats/log_sink.h"
#include "nats/nats_stats.h"

namespace router::nats_adapter {

struct DlqMessage {
  std::string subject;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class DlqPublisher {
 public:
  static constexpr int kMaxAttempts = 3;

  // `connection` and `stats` must outlive the publisher.
  DlqPublisher(NatsConnection& connection, bool use_jetstream, int64_t timeout_ms, size_t capacity,
               NatsStats& stats, LogSink log);
  ~DlqPublisher();

  void Start();
  // False (counted in dlq_queue_dropped) when the queue is full or stopping.
  bool Enqueue(DlqMessage message);
  // Publishes the queued messages until `timeout` has passed, then joins. Idempotent.
  void Stop(absl::Duration timeout);

 private:
  void Run();
  bool PublishOnce(const DlqMessage& message);

  NatsConnection& connection_;
  const bool use_jetstream_;
  const int64_t timeout_ms_;
  const size_t capacity_;
  NatsStats& stats_;
  const LogSink log_;

  absl::Mutex mu_;
  std::deque<DlqMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace router::nats_adapter
