#include "nats/encoded_msg.h"

#include <cstdlib>
#include <cstring>

#ifdef ROUTER_NATS_ENCODED_MSG
// cnats 3.x msg.h (not installed). Exported by libnats.so; CMake verified the link.
extern "C" natsStatus natsMsg_create(natsMsg** newMsg, const char* subject, int subjLen,
                                     const char* reply, int replyLen, const char* buf, int bufLen,
                                     int hdrLen);
#endif

namespace router::nats_adapter {

namespace {

constexpr std::string_view kMsgIdHeader = "Nats-Msg-Id";

bool NeedsMsgId(const EncodedHeaders& headers, std::string_view msg_id) {
  if (msg_id.empty()) return false;
  for (const auto& h : headers) {
    if (h.first == kMsgIdHeader) return false;
  }
  return true;
}

void AppendValue(std::string& out, std::string_view value) {
  const size_t at = out.size();
  out.append(value);
  for (size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
}

natsStatus CreatePublic(natsMsg** msg, const std::string& subject, const EncodedHeaders& headers,
                        std::string_view msg_id, std::string_view body, const std::string& reply) {
  natsMsg* raw = nullptr;
  natsStatus s = natsMsg_Create(&raw, subject.c_str(), reply.empty() ? nullptr : reply.c_str(),
                                body.data(), static_cast<int>(body.size()));
  if (s != NATS_OK) return s;
  std::string value;
  auto set = [&](const std::string& key, std::string_view v) {
    value.clear();
    AppendValue(value, v);
    // Add, not Set: a key listed twice gives two values, as two lines of the encoded block do.
    return natsMsgHeader_Add(raw, key.c_str(), value.c_str());
  };
  if (NeedsMsgId(headers, msg_id)) s = set(std::string(kMsgIdHeader), msg_id);
  for (size_t i = 0; s == NATS_OK && i < headers.size(); ++i) {
    if (!headers[i].second.empty()) s = set(headers[i].first, headers[i].second);
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(raw);
    return s;
  }
  *msg = raw;
  return NATS_OK;
}

#ifdef ROUTER_NATS_ENCODED_MSG
natsStatus CreateFast(natsMsg** msg, const std::string& subject, const EncodedHeaders& headers,
                      std::string_view msg_id, std::string_view body, const std::string& reply) {
  thread_local std::string scratch;
  const size_t header_len = EncodeHeaderBlockAndBody(headers, msg_id, body, scratch);
  return natsMsg_create(msg, subject.data(), static_cast<int>(subject.size()),
                        reply.empty() ? nullptr : reply.data(), static_cast<int>(reply.size()),
                        scratch.data(), static_cast<int>(scratch.size()),
                        static_cast<int>(header_len));
}

// Builds one message the fast way and reads it back through the public API.
// Needs nats_Open (the message is freed through cnats' GC); the router opens the library
// before any publish, so the first CreateEncodedMsg runs this check after it.
bool SelfCheck() {
  const EncodedHeaders headers = {{"tenant_id", "t-1"}, {"trace_id", "a\r\nb"}, {"x", ""}};
  const std::string_view body = "{\"k\":1}";
  natsMsg* m = nullptr;
  if (CreateFast(&m, "self.check", headers, "id-1", body, "self.reply") != NATS_OK ||
      m == nullptr) {
    return false;
  }
  auto header = [&](const char* key) -> std::string {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr) return "<absent>";
    return v;
  };
  const char** keys = nullptr;
  int n = 0;
  const bool keys_ok = natsMsgHeader_Keys(m, &keys, &n) == NATS_OK;
  std::free(keys);
  const bool ok =
      keys_ok && n == 3 && header("Nats-Msg-Id") == "id-1" && header("tenant_id") == "t-1" &&
      header("trace_id") == "a  b" && header("x") == "<absent>" &&
      std::string_view(natsMsg_GetSubject(m)) == "self.check" && natsMsg_GetReply(m) != nullptr &&
      std::string_view(natsMsg_GetReply(m)) == "self.reply" &&
      natsMsg_GetDataLength(m) == static_cast<int>(body.size()) &&
      std::memcmp(natsMsg_GetData(m), body.data(), body.size()) == 0;
  natsMsg_Destroy(m);
  return ok;
}
#endif

}  // namespace

size_t EncodeHeaderBlockAndBody(const EncodedHeaders& headers, std::string_view msg_id,
                                std::string_view body, std::string& out) {
  out.clear();
  size_t size = 12 + kMsgIdHeader.size() + 4 + msg_id.size() + body.size();
  for (const auto& [k, v] : headers) size += k.size() + v.size() + 4;
  out.reserve(size);
  out.append("NATS/1.0\r\n");
  if (NeedsMsgId(headers, msg_id)) {
    out.append(kMsgIdHeader);
    out.append(": ");
    AppendValue(out, msg_id);
    out.append("\r\n");
  }
  for (const auto& [k, v] : headers) {
    if (v.empty()) continue;
    out.append(k);
    out.append(": ");
    AppendValue(out, v);
    out.append("\r\n");
  }
  out.append("\r\n");
  const size_t header_len = out.size();
  out.append(body);
  return header_len;
}

bool EncodedMsgFastPath() {
#ifdef ROUTER_NATS_ENCODED_MSG
  static const bool ok = SelfCheck();
  return ok;
#else
  return false;
#endif
}

natsStatus CreateEncodedMsg(natsMsg** msg, const std::string& subject,
                            const EncodedHeaders& headers, std::string_view msg_id,
                            std::string_view body, const std::string& reply) {
  *msg = nullptr;
  if (subject.empty()) return NATS_INVALID_SUBJECT;
#ifdef ROUTER_NATS_ENCODED_MSG
  if (EncodedMsgFastPath()) return CreateFast(msg, subject, headers, msg_id, body, reply);
#endif
  return CreatePublic(msg, subject, headers, msg_id, body, reply);
}

}  // namespace router::nats_adapter
