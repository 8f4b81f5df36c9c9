#include "nats_decide.h"

#include <nats/nats.h>
#include <rapidjson/document.h>

#include <chrono>
#include <iostream>

#include "output.h"

namespace router::routerctl {
namespace {

// Owns a cnats object for the scope of one call.
template <typename T, void (*Destroy)(T*)>
struct NatsHandle {
  T* ptr = nullptr;
  ~NatsHandle() {
    if (ptr != nullptr) Destroy(ptr);
  }
};

}  // namespace

std::string BuildNatsDecideRequest(const std::string& tenant, const NatsDecideArgs& args,
                                   std::string* error) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("version");
  writer.String("1");
  writer.Key("request_id");
  std::string request_id = args.request_id;
  if (request_id.empty()) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    request_id = "routerctl-" +
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  }
  WriteJsonString(request_id, writer);
  writer.Key("tenant_id");
  WriteJsonString(tenant, writer);
  if (!args.policy_id.empty()) {
    writer.Key("policy_id");
    WriteJsonString(args.policy_id, writer);
  }
  if (!args.trace_id.empty()) {
    writer.Key("trace_id");
    WriteJsonString(args.trace_id, writer);
  }
  writer.Key("task");
  writer.StartObject();
  writer.Key("type");
  WriteJsonString(args.task_type, writer);
  writer.Key("payload_ref");
  WriteJsonString(args.payload_ref, writer);
  writer.EndObject();
  if (!args.metadata.empty()) {
    writer.Key("metadata");
    writer.StartObject();
    for (const std::string& item : args.metadata) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        *error = "--metadata expects KEY=VALUE, got \"" + item + "\"";
        return "";
      }
      writer.Key(item.data(), static_cast<rapidjson::SizeType>(eq));
      WriteJsonString(item.substr(eq + 1), writer);
    }
    writer.EndObject();
  }
  if (args.push_assignment) {
    writer.Key("push_assignment");
    writer.Bool(true);
  }
  if (!args.idempotency_key.empty()) {
    writer.Key("idempotency_key");
    WriteJsonString(args.idempotency_key, writer);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

int RunNatsDecide(Session& session, const NatsDecideArgs& args) {
  if (session.options().tenant.empty()) return UsageError("--tenant is required");
  std::string error;
  const std::string body = BuildNatsDecideRequest(session.options().tenant, args, &error);
  if (!error.empty()) return UsageError(error);

  NatsHandle<natsOptions, natsOptions_Destroy> opts;
  NatsHandle<natsConnection, natsConnection_Destroy> conn;
  NatsHandle<natsMsg, natsMsg_Destroy> reply;
  natsStatus s = natsOptions_Create(&opts.ptr);
  if (s == NATS_OK) s = natsOptions_SetURL(opts.ptr, args.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts.ptr, 2000);
  if (s == NATS_OK) s = natsConnection_Connect(&conn.ptr, opts.ptr);
  if (s != NATS_OK) {
    std::cerr << "error: UNAVAILABLE: cannot connect to " << args.url << ": "
              << natsStatus_GetText(s) << "\n";
    return kExitRpcError;
  }
  s = natsConnection_Request(&reply.ptr, conn.ptr, args.subject.c_str(), body.data(),
                             static_cast<int>(body.size()),
                             static_cast<int64_t>(session.options().timeout_ms));
  if (s != NATS_OK) {
    std::cerr << "error: " << (s == NATS_TIMEOUT ? "DEADLINE_EXCEEDED" : "UNAVAILABLE")
              << ": no reply on " << args.subject << ": " << natsStatus_GetText(s) << "\n";
    return kExitRpcError;
  }
  const std::string text(natsMsg_GetData(reply.ptr),
                         static_cast<size_t>(natsMsg_GetDataLength(reply.ptr)));
  std::cout << text << "\n";
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  const bool ok = !doc.HasParseError() && doc.IsObject() && doc.HasMember("ok") &&
                  doc["ok"].IsBool() && doc["ok"].GetBool();
  return ok ? kExitOk : kExitRpcError;
}

}  // namespace router::routerctl
