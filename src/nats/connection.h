#pragma once
// NatsConnection: the router's one cnats connection (nats-contracts.md §8; configuration.md
// [nats]): server list, connection name `<name>/<node_id>`, connect timeout, ping interval and
// max pings out, user/password, token, creds file or nkey seed file, TLS; unlimited reconnects
// with delay = min(reconnect_base_ms × 2^(n-1), reconnect_max_ms) + 0-20 % jitter (cnats
// custom reconnect delay handler).
//
// The first connect never stops startup: Connect() makes one attempt round (bounded by
// connect_timeout_ms per server) and, when no server answers, cnats keeps connecting in the
// background (retry-on-failed-connect) forever. Connection events (connected, disconnected,
// reconnected, closed) are passed to listeners registered before Connect(); they run on cnats
// threads and must not block (the transport only enqueues them).
//
// Ownership: the natsConnection and the shared jsCtx are held in unique_ptrs with deleters.
// Close() closes the connection, waits (bounded) for cnats' closed callback, so that no
// callback can reach a destroyed object, and destroys the handles.
// Thread-safety: thread-safe after Connect() (cnats handles are thread-safe); Connect() and
// Close() are called by the owner's thread.

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "config/config.h"
#include "nats/log_sink.h"
#include "nats/nats_stats.h"

namespace router::nats_adapter {

struct NatsConnectionCloser {
  void operator()(natsConnection* c) const noexcept { natsConnection_Destroy(c); }
};
using NatsConnectionPtr = std::unique_ptr<natsConnection, NatsConnectionCloser>;
struct NatsOptionsDeleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};
using NatsOptionsPtr = std::unique_ptr<natsOptions, NatsOptionsDeleter>;
struct JsCtxDeleter {
  void operator()(jsCtx* js) const noexcept { jsCtx_Destroy(js); }
};
using JsCtxPtr = std::unique_ptr<jsCtx, JsCtxDeleter>;
struct NatsMsgDeleter {
  void operator()(natsMsg* m) const noexcept { natsMsg_Destroy(m); }
};
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;

enum class ConnectionEvent { kConnected, kDisconnected, kReconnected, kClosed };
std::string_view ConnectionEventName(ConnectionEvent event);

// Reconnect delay before attempt round `attempt` (1-based): min(base × 2^(attempt-1), max)
// plus a jitter of 0-20 % drawn from `random` (§8).
int64_t ReconnectDelayMs(int64_t base_ms, int64_t max_ms, int attempt, uint64_t random);

// router_nats_connect_failures_total{reason} (observability.md §2.5), in NatsStats index order.
enum class ConnectFailureReason : uint8_t { kRefused, kTimeout, kTls, kAuth, kDns, kOther };
std::string_view ConnectFailureReasonName(ConnectFailureReason reason);
// The reason of a failed connect from cnats' status and last error text (e.g. NATS_NO_SERVER
// with "Connection refused" -> refused; NATS_SSL_ERROR -> tls; "Authorization Violation" ->
// auth; "No address" / name resolution failures -> dns).
ConnectFailureReason ClassifyConnectFailure(natsStatus status, std::string_view last_error);

// router_nats_slow_consumer_total{subscription}, in NatsStats index order.
enum class SlowConsumerSubscription : uint8_t { kDecide, kFanout, kStatus };
std::string_view SlowConsumerSubscriptionName(SlowConsumerSubscription subscription);
// The label of a core subscription on `subject`: the decide subject -> decide, the S4/S5
// subjects (the fan-out's, S6) -> fanout, the status subject -> status; other subscriptions
// (S10, S11, pull subscriptions' inboxes) have none.
std::optional<SlowConsumerSubscription> ClassifySlowConsumer(const config::NatsConfig& config,
                                                             std::string_view subject);

// `nats.url` split on commas, entries trimmed, empty entries dropped.
std::vector<std::string> SplitServerUrls(std::string_view url);

// A server URL with any `user:password@` removed (for logs).
std::string RedactUrl(std::string_view url);

// cnats status as an absl::Status: UNAVAILABLE for connectivity, DEADLINE_EXCEEDED for
// timeouts, INTERNAL otherwise; the message includes cnats' text and `what`.
absl::Status NatsError(natsStatus status, std::string_view what);

class NatsConnection {
 public:
  using Listener = std::function<void(ConnectionEvent)>;

  // Builds the cnats options from `config`. INVALID_ARGUMENT / FAILED_PRECONDITION for
  // options cnats refuses (unreadable TLS or credential files, malformed nkey seed, no URL).
  // `stats` must outlive the connection.
  static absl::StatusOr<std::unique_ptr<NatsConnection>> Create(const config::NatsConfig& config,
                                                                std::string_view node_id,
                                                                NatsStats& stats, LogSink log);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  // REQUIRES: called before Connect().
  void AddListener(Listener listener);

  // First connect (see the file comment). OK also when no server is reachable yet; an error
  // only when cnats refuses to create the connection at all.
  absl::Status Connect();

  // Closes the connection (listeners get kClosed) and releases the handles. Idempotent.
  void Close();

  bool IsConnected() const;
  // router_nats_connection_status: 1 connected, 0.5 (re)connecting, 0 otherwise.
  double StatusGauge() const;
  // The cnats connection; nullptr before Connect() and after Close().
  natsConnection* raw() const { return raw_.load(std::memory_order_acquire); }
  // The shared JetStream context (api_timeout_ms, domain); nullptr while the connection does
  // not exist. For JetStream management and synchronous publishes.
  jsCtx* jetstream() const { return js_raw_.load(std::memory_order_acquire); }
  // A new JetStream context on this connection with `options` (e.g. an async PubAck handler
  // for the outbox); Wait and Domain default to the configured values when unset.
  absl::StatusOr<JsCtxPtr> NewJetStreamContext(jsOptions options) const;

  // "<server id> <url without credentials>" of the current server; "" when not connected.
  std::string ConnectedServer() const;
  const config::NatsConfig& config() const { return config_; }

 private:
  NatsConnection(const config::NatsConfig& config, NatsStats& stats, LogSink log,
                 NatsOptionsPtr options);
  void Notify(ConnectionEvent event);

  static void OnConnected(natsConnection* nc, void* closure) noexcept;
  static void OnDisconnected(natsConnection* nc, void* closure) noexcept;
  static void OnReconnected(natsConnection* nc, void* closure) noexcept;
  static void OnClosed(natsConnection* nc, void* closure) noexcept;
  static void OnError(natsConnection* nc, natsSubscription* sub, natsStatus err,
                      void* closure) noexcept;
  static int64_t OnReconnectDelay(natsConnection* nc, int attempts, void* closure) noexcept;
  void CountConnectFailure(natsStatus status, std::string_view last_error);

  const config::NatsConfig config_;
  NatsStats& stats_;
  const LogSink log_;
  NatsOptionsPtr options_;
  NatsConnectionPtr conn_;  // owner; written by Connect()/Close() only
  JsCtxPtr js_;
  // Published copies for other threads (acquire/release: the handles are fully built before
  // they are published, and unpublished before they are destroyed).
  std::atomic<natsConnection*> raw_{nullptr};
  std::atomic<jsCtx*> js_raw_{nullptr};
  std::vector<Listener> listeners_;  // fixed before Connect(); read by cnats threads
  std::atomic<bool> closing_{false};

  absl::Mutex closed_mu_;
  bool closed_ ABSL_GUARDED_BY(closed_mu_) = false;
};

}  // namespace router::nats_adapter
