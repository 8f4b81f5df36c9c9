#pragma once
// JetStreamClient: the client side the NATS integration suites share
// (nats-contracts.md §12 harness: "streams are checked by reading them (ephemeral consumer or
// get-by-sequence), never by counting publishes"). JetStreamClient is one cnats connection with
// a JetStream context: core request/reply, JetStream publish, a stream read back message by
// message (js_GetMsg by sequence, headers included), stream and consumer state, and the raw
// `$JS.API.*` JSON API. It reconnects forever (50 ms wait), so a suite that SIGKILLs and
// restarts nats-server keeps using it. Replies are read with JsonDoc (support/json_doc.h).
// Header-only: only the integration binary (which links cnats and simdjson) includes it.
//
// Thread-safety: a JetStreamClient may be used from several threads at once (cnats connections
// and JetStream contexts are thread-safe); Connect() must finish before other calls.

#include <nats/nats.h>
#include <simdjson.h>
#include <strings.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "support/json_doc.h"

namespace router::testing {

// One message read back from a stream.
struct StoredMsg {
  uint64_t seq = 0;
  std::string subject;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The header's value (name matched case-insensitively), "<absent>" when missing.
  std::string Header(const std::string& key) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), key.c_str()) == 0) return v;
    }
    return "<absent>";
  }
};

class JetStreamClient {
 public:
  JetStreamClient() = default;
  ~JetStreamClient() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  JetStreamClient(const JetStreamClient&) = delete;
  JetStreamClient& operator=(const JetStreamClient&) = delete;

  // Connects to `url` (retrying in the background when the first connect fails) and reconnects
  // forever afterwards.
  absl::Status Connect(const std::string& url) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 50);
    natsOptions_SetRetryOnFailedConnect(o, true, nullptr, nullptr);
    natsStatus s = natsConnection_Connect(&nc_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) return absl::UnavailableError(natsStatus_GetText(s));
    s = natsConnection_JetStream(&js_, nc_, nullptr);
    if (s != NATS_OK) return absl::InternalError(natsStatus_GetText(s));
    return absl::OkStatus();
  }

  // One core request/reply with optional headers; "" on timeout, no responders or a lost
  // connection.
  std::string Request(const std::string& subject, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      int64_t timeout_ms = 5000) {
    natsMsg* req = nullptr;
    if (natsMsg_Create(&req, subject.c_str(), nullptr, body.data(),
                       static_cast<int>(body.size())) != NATS_OK) {
      return "";
    }
    for (const auto& [k, v] : headers) natsMsgHeader_Add(req, k.c_str(), v.c_str());
    natsMsg* reply = nullptr;
    const natsStatus s = natsConnection_RequestMsg(&reply, nc_, req, timeout_ms);
    natsMsg_Destroy(req);
    if (s != NATS_OK) return "";
    std::string out(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    return out;
  }

  // JetStream publish; the stream sequence, 0 on failure.
  uint64_t Publish(const std::string& subject, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    natsMsg* m = nullptr;
    natsMsg_Create(&m, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    for (const auto& [k, v] : headers) natsMsgHeader_Add(m, k.c_str(), v.c_str());
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&ack, js_, m, nullptr, &err);
    natsMsg_Destroy(m);
    uint64_t seq = 0;
    if (s == NATS_OK && ack != nullptr) seq = ack->Sequence;
    if (ack != nullptr) jsPubAck_Destroy(ack);
    return seq;
  }

  // Every stored message of `stream` whose subject is `subject` ("" = all), by sequence.
  std::vector<StoredMsg> Read(const std::string& stream, const std::string& subject = "") {
    std::vector<StoredMsg> out;
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &err) != NATS_OK) return out;
    const uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    for (uint64_t seq = first; seq != 0 && seq <= last; ++seq) {
      natsMsg* m = nullptr;
      if (js_GetMsg(&m, js_, stream.c_str(), seq, nullptr, &err) != NATS_OK) continue;
      StoredMsg sm;
      sm.seq = seq;
      sm.subject = natsMsg_GetSubject(m);
      sm.body.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
      const char** keys = nullptr;
      int n = 0;
      if (natsMsgHeader_Keys(m, &keys, &n) == NATS_OK) {
        for (int i = 0; i < n; ++i) {
          const char* v = nullptr;
          if (natsMsgHeader_Get(m, keys[i], &v) == NATS_OK) sm.headers.emplace_back(keys[i], v);
        }
        free(static_cast<void*>(keys));
      }
      natsMsg_Destroy(m);
      if (subject.empty() || sm.subject == subject) out.push_back(std::move(sm));
    }
    return out;
  }

  // The Nats-Msg-Id of every message stored in `stream` ("" for a message without one), read
  // by sequence: a duplicate shows up as a count > 1.
  std::multiset<std::string> StoredIds(const std::string& stream) {
    std::multiset<std::string> ids;
    for (const auto& m : Read(stream)) {
      const std::string id = m.Header("Nats-Msg-Id");
      ids.insert(id == "<absent>" ? "" : id);
    }
    return ids;
  }

  // Messages stored in `stream` (stream info); -1 on error.
  int64_t StoredCount(const std::string& stream) {
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &err) != NATS_OK) return -1;
    const int64_t n = static_cast<int64_t>(si->State.Msgs);
    jsStreamInfo_Destroy(si);
    return n;
  }

  bool StreamExists(const std::string& stream) {
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    const bool ok = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &err) == NATS_OK;
    if (si != nullptr) jsStreamInfo_Destroy(si);
    return ok;
  }

  bool DurableExists(const std::string& stream, const std::string& durable) {
    return ConsumerState(stream, durable)[0] != -1;
  }

  // {num_ack_pending, num_pending, ack floor stream seq, num_redelivered}; all -1 on error.
  std::array<int64_t, 4> ConsumerState(const std::string& stream, const std::string& durable) {
    jsConsumerInfo* ci = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    if (js_GetConsumerInfo(&ci, js_, stream.c_str(), durable.c_str(), nullptr, &err) != NATS_OK) {
      return {-1, -1, -1, -1};
    }
    std::array<int64_t, 4> out = {ci->NumAckPending, static_cast<int64_t>(ci->NumPending),
                                  static_cast<int64_t>(ci->AckFloor.Stream), ci->NumRedelivered};
    jsConsumerInfo_Destroy(ci);
    return out;
  }

  // A raw JetStream API call, e.g. Api("STREAM.INFO.CAF_RESULTS") -> the JSON reply ("" on
  // timeout).
  std::string Api(const std::string& call, const std::string& body = "") {
    return Request("$JS.API." + call, body);
  }

  // A core publish, flushed.
  bool CorePublish(const std::string& subject, const std::string& body) {
    return natsConnection_PublishString(nc_, subject.c_str(), body.c_str()) == NATS_OK &&
           natsConnection_Flush(nc_) == NATS_OK;
  }

  natsConnection* nc() { return nc_; }
  jsCtx* js() { return js_; }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace router::testing
