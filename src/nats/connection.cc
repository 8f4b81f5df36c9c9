#include "nats/connection.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/random.h"
#include "nats/nkey.h"

namespace router::nats_adapter {
namespace {

constexpr absl::Duration kCloseWait = absl::Seconds(5);

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view ConnectFailureReasonName(ConnectFailureReason reason) {
  switch (reason) {
    case ConnectFailureReason::kRefused:
      return "refused";
    case ConnectFailureReason::kTimeout:
      return "timeout";
    case ConnectFailureReason::kTls:
      return "tls";
    case ConnectFailureReason::kAuth:
      return "auth";
    case ConnectFailureReason::kDns:
      return "dns";
    case ConnectFailureReason::kOther:
      break;
  }
  return "other";
}

ConnectFailureReason ClassifyConnectFailure(natsStatus status, std::string_view last_error) {
  std::string text(last_error);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto has = [&text](std::string_view needle) { return text.find(needle) != std::string::npos; };
  if (status == NATS_SSL_ERROR || has("ssl") || has("tls") || has("certificate")) {
    return ConnectFailureReason::kTls;
  }
  if (status == NATS_NOT_PERMITTED || has("authorization") || has("authentication") ||
      has("user credentials") || has("nkey")) {
    return ConnectFailureReason::kAuth;
  }
  if (has("no address") || has("resolve") || has("getaddrinfo") || has("name or service") ||
      has("host not found")) {
    return ConnectFailureReason::kDns;
  }
  if (status == NATS_TIMEOUT || has("timeout") || has("timed out")) {
    return ConnectFailureReason::kTimeout;
  }
  if (status == NATS_NO_SERVER || status == NATS_NOT_YET_CONNECTED || has("refused")) {
    return ConnectFailureReason::kRefused;
  }
  return ConnectFailureReason::kOther;
}

std::string_view SlowConsumerSubscriptionName(SlowConsumerSubscription subscription) {
  switch (subscription) {
    case SlowConsumerSubscription::kDecide:
      return "decide";
    case SlowConsumerSubscription::kFanout:
      return "fanout";
    case SlowConsumerSubscription::kStatus:
      break;
  }
  return "status";
}

std::optional<SlowConsumerSubscription> ClassifySlowConsumer(const config::NatsConfig& config,
                                                             std::string_view subject) {
  if (subject == config.decide.subject) return SlowConsumerSubscription::kDecide;
  if (subject == config.status.subject) return SlowConsumerSubscription::kStatus;
  if (subject == config.jetstream.consumers.results.filter_subject ||
      subject == config.jetstream.consumers.acks.filter_subject) {
    return SlowConsumerSubscription::kFanout;
  }
  return std::nullopt;
}

std::string_view ConnectionEventName(ConnectionEvent event) {
  switch (event) {
    case ConnectionEvent::kConnected:
      return "connected";
    case ConnectionEvent::kDisconnected:
      return "disconnected";
    case ConnectionEvent::kReconnected:
      return "reconnected";
    case ConnectionEvent::kClosed:
      return "closed";
  }
  return "unknown";
}

int64_t ReconnectDelayMs(int64_t base_ms, int64_t max_ms, int attempt, uint64_t random) {
  base_ms = std::max<int64_t>(base_ms, 1);
  max_ms = std::max<int64_t>(max_ms, base_ms);
  int64_t delay = base_ms;
  for (int i = 1; i < attempt && delay < max_ms; ++i) delay *= 2;
  delay = std::min(delay, max_ms);
  // 0-20 % jitter, integer arithmetic: random mod (delay/5 + 1).
  const uint64_t span = static_cast<uint64_t>(delay / 5) + 1;
  return delay + static_cast<int64_t>(random % span);
}

std::vector<std::string> SplitServerUrls(std::string_view url) {
  std::vector<std::string> out;
  while (!url.empty()) {
    size_t comma = url.find(',');
    std::string_view entry = TrimSpaces(url.substr(0, comma));
    if (!entry.empty()) out.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    url.remove_prefix(comma + 1);
  }
  return out;
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.find('@', start);
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

absl::Status NatsError(natsStatus status, std::string_view what) {
  std::string message = std::string(what) + ": " + natsStatus_GetText(status);
  switch (status) {
    case NATS_TIMEOUT:
      return absl::DeadlineExceededError(message);
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

NatsConnection::NatsConnection(const config::NatsConfig& config, NatsStats& stats, LogSink log,
                               NatsOptionsPtr options)
    : config_(config), stats_(stats), log_(std::move(log)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<NatsConnection>> NatsConnection::Create(
    const config::NatsConfig& config, std::string_view node_id, NatsStats& stats, LogSink log) {
  const std::vector<std::string> servers = SplitServerUrls(config.url);
  if (servers.empty()) return absl::InvalidArgumentError("nats.url: no server URL");
  natsOptions* raw = nullptr;
  if (natsStatus s = natsOptions_Create(&raw); s != NATS_OK) return NatsError(s, "nats options");
  NatsOptionsPtr opts(raw);
  auto conn =
      std::unique_ptr<NatsConnection>(new NatsConnection(config, stats, std::move(log), nullptr));
  natsOptions* o = opts.get();
  void* self = conn.get();

  std::vector<const char*> urls;
  for (const auto& u : servers) urls.push_back(u.c_str());
  const std::string name = config.name + "/" + std::string(node_id);
  auto check = [](natsStatus s, std::string_view what) -> absl::Status {
    if (s == NATS_OK) return absl::OkStatus();
    std::string message = std::string(what) + ": " + natsStatus_GetText(s);
    if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
      message += " (" + std::string(last) + ")";
    }
    return absl::FailedPreconditionError(message);
  };
  absl::Status st =
      check(natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size())), "nats.url");
  if (st.ok()) st = check(natsOptions_SetName(o, name.c_str()), "nats.name");
  if (st.ok())
    st = check(natsOptions_SetTimeout(o, config.connect_timeout_ms), "nats.connect_timeout_ms");
  if (st.ok())
    st = check(natsOptions_SetPingInterval(o, config.ping_interval_ms), "nats.ping_interval_ms");
  if (st.ok())
    st = check(natsOptions_SetMaxPingsOut(o, static_cast<int>(config.max_pings_out)),
               "nats.max_pings_out");
  if (st.ok()) st = check(natsOptions_SetAllowReconnect(o, true), "reconnect");
  if (st.ok()) st = check(natsOptions_SetMaxReconnect(o, -1), "reconnect");
  if (st.ok())
    st = check(natsOptions_SetCustomReconnectDelay(o, &OnReconnectDelay, self), "reconnect delay");
  if (st.ok())
    st = check(natsOptions_SetRetryOnFailedConnect(o, true, &OnConnected, self),
               "retry on failed connect");
  if (st.ok()) st = check(natsOptions_SetDisconnectedCB(o, &OnDisconnected, self), "callbacks");
  if (st.ok()) st = check(natsOptions_SetReconnectedCB(o, &OnReconnected, self), "callbacks");
  if (st.ok()) st = check(natsOptions_SetClosedCB(o, &OnClosed, self), "callbacks");
  if (st.ok()) st = check(natsOptions_SetErrorHandler(o, &OnError, self), "callbacks");
  // JetStream API calls fail at once on a disconnect instead of waiting for their timeout.
  if (st.ok()) st = check(natsOptions_SetFailRequestsOnDisconnect(o, true), "requests");

  // TLS (`tls://` implies enabled).
  const bool tls_url = std::any_of(servers.begin(), servers.end(),
                                   [](const std::string& u) { return u.rfind("tls://", 0) == 0; });
  const config::NatsTlsConfig& tls = config.tls;
  if (st.ok() && (tls.enabled || tls_url)) {
    st = check(natsOptions_SetSecure(o, true), "nats.tls.enabled");
    if (st.ok() && !tls.ca_file.empty()) {
      st = check(natsOptions_LoadCATrustedCertificates(o, tls.ca_file.c_str()), "nats.tls.ca_file");
    }
    if (st.ok() && !tls.cert_file.empty()) {
      st = check(natsOptions_LoadCertificatesChain(o, tls.cert_file.c_str(), tls.key_file.c_str()),
                 "nats.tls.cert_file");
    }
    if (st.ok() && !tls.verify) {
      st = check(natsOptions_SkipServerVerification(o, true), "nats.tls.verify");
    }
    if (st.ok() && !tls.server_name.empty()) {
      st = check(natsOptions_SetExpectedHostname(o, tls.server_name.c_str()),
                 "nats.tls.server_name");
    }
  }

  // Authentication: at most one method (validated by the config loader).
  const config::NatsAuthConfig& auth = config.auth;
  if (st.ok() && !auth.creds_file.empty()) {
    st = check(natsOptions_SetUserCredentialsFromFiles(o, auth.creds_file.c_str(), nullptr),
               "nats.auth.creds_file");
  } else if (st.ok() && !auth.nkey_seed_file.empty()) {
    auto seed = ReadNkeySeedFile(auth.nkey_seed_file);
    if (!seed.ok()) return seed.status();
    auto pub = NkeyPublicKeyFromSeed(*seed);
    if (!pub.ok()) {
      return absl::InvalidArgumentError("nats.auth.nkey_seed_file: " +
                                        std::string(pub.status().message()));
    }
    st = check(natsOptions_SetNKeyFromSeed(o, pub->c_str(), auth.nkey_seed_file.c_str()),
               "nats.auth.nkey_seed_file");
  } else if (st.ok() && !auth.user.empty()) {
    st = check(natsOptions_SetUserInfo(o, auth.user.c_str(), auth.password.c_str()),
               "nats.auth.user");
  } else if (st.ok() && !auth.token.empty()) {
    st = check(natsOptions_SetToken(o, auth.token.c_str()), "nats.auth.token");
  }
  if (!st.ok()) return st;
  conn->options_ = std::move(opts);
  return conn;
}

NatsConnection::~NatsConnection() { Close(); }

void NatsConnection::AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }

void NatsConnection::Notify(ConnectionEvent event) {
  for (const auto& l : listeners_) l(event);
}

absl::Status NatsConnection::Connect() {
  if (conn_) return absl::OkStatus();
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, options_.get());
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    const char* last = nats_GetLastError(nullptr);
    CountConnectFailure(s, last != nullptr ? last : "");
    if (nc != nullptr) natsConnection_Destroy(nc);
    return NatsError(s, "nats connect");
  }
  conn_.reset(nc);
  raw_.store(conn_.get(), std::memory_order_release);
  // Also without `jetstream.enabled`: the §1 capture check of the decide subject lists streams.
  jsOptions jo;
  jsOptions_Init(&jo);
  auto js = NewJetStreamContext(jo);
  if (!js.ok()) return js.status();
  js_ = *std::move(js);
  js_raw_.store(js_.get(), std::memory_order_release);
  if (s == NATS_OK) {
    Inc(stats_.connections_established);
    Log(log_, "INFO", "nats.connected", "connected to NATS", {{"server", ConnectedServer()}});
    Notify(ConnectionEvent::kConnected);
  } else {
    const char* last = nats_GetLastError(nullptr);
    CountConnectFailure(NATS_NO_SERVER, last != nullptr ? last : "");
    Log(log_, "WARN", "nats.connect_failed",
        "no NATS server reachable; connecting in the background",
        {{"url", RedactUrl(config_.url)}});
  }
  return absl::OkStatus();
}

absl::StatusOr<JsCtxPtr> NatsConnection::NewJetStreamContext(jsOptions options) const {
  natsConnection* nc = raw();
  if (nc == nullptr) return absl::FailedPreconditionError("no NATS connection");
  if (options.Wait <= 0) options.Wait = config_.jetstream.api_timeout_ms;
  if ((options.Domain == nullptr || *options.Domain == '\0') && !config_.jetstream.domain.empty()) {
    options.Domain = config_.jetstream.domain.c_str();
  }
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&js, nc, &options); s != NATS_OK) {
    return NatsError(s, "jetstream context");
  }
  return JsCtxPtr(js);
}

void NatsConnection::Close() {
  if (closing_.exchange(true)) return;
  if (!conn_) return;
  natsConnection_Close(conn_.get());
  {
    // Closed is cnats' last callback for this connection: once it ran, `this` is unreachable.
    absl::MutexLock lock(&closed_mu_);
    closed_mu_.AwaitWithTimeout(absl::Condition(&closed_), kCloseWait);
  }
  js_raw_.store(nullptr, std::memory_order_release);
  raw_.store(nullptr, std::memory_order_release);
  js_.reset();
  conn_.reset();
}

bool NatsConnection::IsConnected() const {
  if (closing_.load(std::memory_order_relaxed)) return false;
  natsConnection* nc = raw();
  return nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
}

double NatsConnection::StatusGauge() const {
  natsConnection* nc = raw();
  if (nc == nullptr || closing_.load(std::memory_order_relaxed)) return 0;
  switch (natsConnection_Status(nc)) {
    case NATS_CONN_STATUS_CONNECTED:
    case NATS_CONN_STATUS_DRAINING_SUBS:
    case NATS_CONN_STATUS_DRAINING_PUBS:
      return 1;
    case NATS_CONN_STATUS_CONNECTING:
    case NATS_CONN_STATUS_RECONNECTING:
      return 0.5;
    default:
      return 0;
  }
}

std::string NatsConnection::ConnectedServer() const {
  natsConnection* nc = raw();
  if (nc == nullptr) return "";
  char id[256] = {0};
  char url[512] = {0};
  if (natsConnection_GetConnectedServerId(nc, id, sizeof(id)) != NATS_OK) id[0] = 0;
  if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK) url[0] = 0;
  if (id[0] == 0 && url[0] == 0) return "";
  return std::string(id) + " " + RedactUrl(url);
}

void NatsConnection::OnConnected(natsConnection*, void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  try {
    Inc(self->stats_.connections_established);
    Log(self->log_, "INFO", "nats.connected", "connected to NATS",
        {{"server", self->ConnectedServer()}});
    self->Notify(ConnectionEvent::kConnected);
  } catch (...) {
  }
}

void NatsConnection::OnDisconnected(natsConnection*, void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  try {
    if (self->closing_.load(std::memory_order_relaxed)) return;
    Inc(self->stats_.connections_lost);
    Log(self->log_, "WARN", "nats.disconnected", "disconnected from NATS; reconnecting");
    self->Notify(ConnectionEvent::kDisconnected);
  } catch (...) {
  }
}

void NatsConnection::OnReconnected(natsConnection*, void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  try {
    Inc(self->stats_.connections_established);
    Log(self->log_, "INFO", "nats.reconnected", "reconnected to NATS",
        {{"server", self->ConnectedServer()}});
    self->Notify(ConnectionEvent::kReconnected);
  } catch (...) {
  }
}

void NatsConnection::OnClosed(natsConnection*, void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  try {
    self->Notify(ConnectionEvent::kClosed);
  } catch (...) {
  }
  absl::MutexLock lock(&self->closed_mu_);
  self->closed_ = true;
}

void NatsConnection::CountConnectFailure(natsStatus status, std::string_view last_error) {
  Inc(stats_.connect_failures);
  Inc(stats_.connect_failures_by_reason[static_cast<size_t>(
      ClassifyConnectFailure(status, last_error))]);
}

void NatsConnection::OnError(natsConnection*, natsSubscription* sub, natsStatus err,
                             void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  if (err != NATS_SLOW_CONSUMER) return;
  Inc(self->stats_.slow_consumer);
  const char* subject = sub != nullptr ? natsSubscription_GetSubject(sub) : nullptr;
  std::optional<SlowConsumerSubscription> label;
  if (subject != nullptr) label = ClassifySlowConsumer(self->config_, subject);
  if (label) Inc(self->stats_.slow_consumer_by_subscription[static_cast<size_t>(*label)]);
  try {
    // The logger rate-limits per event (OBS §5.4); the subject is configuration, not a request's.
    Log(self->log_, "WARN", "nats.slow_consumer", "client-side slow consumer: messages dropped",
        {{"subscription", label ? std::string(SlowConsumerSubscriptionName(*label)) : "other"},
         {"subject", subject != nullptr ? subject : ""}});
  } catch (...) {
  }
}

int64_t NatsConnection::OnReconnectDelay(natsConnection*, int attempts, void* closure) noexcept {
  auto* self = static_cast<NatsConnection*>(closure);
  Inc(self->stats_.reconnect_attempts);
  return ReconnectDelayMs(self->config_.reconnect_base_ms, self->config_.reconnect_max_ms, attempts,
                          core::NextU64());
}

}  // namespace router::nats_adapter
