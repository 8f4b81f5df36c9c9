#include "commands.h"

#include <filesystem>
#include <iostream>
#include <optional>
#include <type_traits>

#include "error_report.h"
#include "output.h"

namespace router::routerctl {
namespace {

namespace pb = beamline::flow::v1;
using Admin = pb::RouterAdmin::Stub;

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// Fills `request` from the decide/dry-run flags; returns a usage error text on bad input.
std::optional<std::string> BuildRouteRequest(const std::string& tenant, const DecideArgs& args,
                                             pb::RouteRequest* request) {
  pb::Message* message = request->mutable_message();
  message->set_tenant_id(tenant);
  message->set_message_type(args.message_type);
  message->set_payload(args.payload);
  message->set_message_id(args.message_id);
  request->set_policy_id(args.policy_id);
  auto* context = request->mutable_context();
  for (const std::string& item : args.context) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return "--context expects KEY=VALUE, got \"" + item + "\"";
    }
    (*context)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  if (args.explain) (*context)["explain"] = "true";
  return std::nullopt;
}

int RequireTenant(const Session& session) {
  return session.options().tenant.empty() ? UsageError("--tenant is required") : kExitOk;
}

std::string JoinProviders(const pb::AdminPolicy& policy) {
  std::string text;
  for (const auto& provider : policy.providers()) {
    if (!text.empty()) text += ",";
    text += provider.id() + "=" + FormatDouble(provider.weight());
  }
  return text;
}

// grpc.health.v1.HealthCheckRequest{service = 1} encoded by hand (no health stubs in this build).
std::string EncodeHealthRequest(const std::string& service) {
  std::string bytes;
  if (service.empty()) return bytes;
  bytes.push_back('\x0a');  // field 1, wire type 2
  uint64_t length = service.size();
  while (length >= 0x80) {
    bytes.push_back(static_cast<char>((length & 0x7f) | 0x80));
    length >>= 7;
  }
  bytes.push_back(static_cast<char>(length));
  return bytes + service;
}

// grpc.health.v1.HealthCheckResponse{status = 1 (enum)}; returns -1 when undecodable.
int DecodeHealthStatus(const std::string& bytes) {
  int status = 0;
  size_t pos = 0;
  auto read_varint = [&](uint64_t* value) {
    *value = 0;
    for (int shift = 0; pos < bytes.size() && shift < 64; shift += 7) {
      uint8_t byte = static_cast<uint8_t>(bytes[pos++]);
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  while (pos < bytes.size()) {
    uint64_t key = 0;
    if (!read_varint(&key)) return -1;
    uint64_t wire_type = key & 7;
    uint64_t value = 0;
    if (wire_type == 0) {
      if (!read_varint(&value)) return -1;
      if ((key >> 3) == 1) status = static_cast<int>(value);
    } else if (wire_type == 2) {
      if (!read_varint(&value) || value > bytes.size() - pos) return -1;
      pos += value;
    } else if (wire_type == 1 || wire_type == 5) {
      size_t width = wire_type == 1 ? 8 : 4;
      if (width > bytes.size() - pos) return -1;
      pos += width;
    } else {
      return -1;
    }
  }
  return status;
}

std::string HealthStatusName(int status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "STATUS_" + std::to_string(status);
  }
}

// One unary call on `stub` (Router or RouterAdmin) with a fresh context (the admin key on admin
// calls); on failure the error report is printed and its exit code returned, else kExitOk.
template <typename Stub, typename Request, typename Response>
int Call(Session& session, Stub& stub,
         grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
         const Request& request, Response* response) {
  constexpr bool kAdmin = std::is_same_v<Stub, Admin>;
  auto context = session.connection().NewContext(kAdmin);
  grpc::Status status = (stub.*rpc)(context.get(), request, response);
  if (!status.ok()) return session.RpcError(status, *context, kAdmin);
  return kExitOk;
}

template <typename Request, typename Response>
int CallAdmin(Session& session,
              grpc::Status (Admin::*rpc)(grpc::ClientContext*, const Request&, Response*),
              const Request& request, Response* response) {
  return Call(session, session.connection().admin(), rpc, request, response);
}

// `{"tenant_id": <tenant>, "<key>": [<message>, ...]}` (list commands with --json).
template <typename Messages>
void EmitTenantList(const Session& session, const char* key, const Messages& messages) {
  EmitJson([&](JsonWriter& writer) {
    writer.StartObject();
    writer.Key("tenant_id");
    WriteJsonString(session.options().tenant, writer);
    writer.Key(key);
    writer.StartArray();
    for (const auto& message : messages) WriteMessageJson(message, writer);
    writer.EndArray();
    writer.EndObject();
  });
}

}  // namespace

int UsageError(const std::string& message) {
  std::cerr << "error: " << message << "\nRun with --help for more information.\n";
  return kExitUsage;
}

int Session::RpcError(const grpc::Status& status, const grpc::ClientContext& context,
                      bool admin_call) {
  ErrorReport report = BuildErrorReport(status, TrailerValue(context, "retry-after-ms"));
  if (options_.json) {
    EmitJson([&](JsonWriter& writer) { WriteErrorJson(report, writer); });
  } else {
    PrintErrorText(report, std::cerr);
    if (admin_call && status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
        !connection_.has_admin_key()) {
      std::cerr << "hint: " << kAdminKeyEnv << " is not set\n";
    }
  }
  return kExitRpcError;
}

// ------------------------------------------------------------------------------ Router

int RunDecide(Session& session, const DecideArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::RouteRequest request;
  if (auto error = BuildRouteRequest(session.options().tenant, args, &request)) {
    return UsageError(*error);
  }
  pb::RouteDecision decision;
  auto context = session.connection().NewContext(/*admin=*/false);
  grpc::Status status = session.connection().router().Decide(context.get(), request, &decision);
  if (!status.ok()) return session.RpcError(status, *context, false);
  const bool replay = HeaderValue(*context, "x-idempotent-replay") == "true";
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("decision");
      WriteMessageJson(decision, writer);
      writer.Key("idempotent_replay");
      writer.Bool(replay);
      writer.EndObject();
    });
  } else {
    PrintDecision(decision, std::cout);
    PrintField("idempotent_replay", replay ? "true" : "false", std::cout);
  }
  return kExitOk;
}

int RunReportOutcome(Session& session, const OutcomeArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::ReportOutcomeRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_provider_id(args.provider_id);
  request.set_status(args.status);
  request.set_latency_ms(args.latency_ms);
  request.set_cost(args.cost);
  request.set_error_code(args.error_code);
  pb::ReportOutcomeResponse response;
  if (int rc = Call(session, session.connection().router(), &pb::Router::Stub::ReportOutcome,
                    request, &response);
      rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) { WriteMessageJson(response, writer); });
  } else {
    PrintMessageText(response, "", std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------------------ DryRun

int RunDryRun(Session& session, const DecideArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::DryRunRequest request;
  if (auto error = BuildRouteRequest(session.options().tenant, args, request.mutable_request())) {
    return UsageError(*error);
  }
  if (!args.policy_file.empty()) {
    absl::StatusOr<std::string> document = ReadTextFile(args.policy_file);
    if (!document.ok()) return UsageError(Message(document.status()));
    request.set_policy_json(*document);
  }
  pb::DryRunResponse response;
  if (int rc = CallAdmin(session, &Admin::DryRun, request, &response); rc != kExitOk) return rc;
  const std::string code_name = StatusCodeName(response.status_code());
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("status_code");
      writer.Int(response.status_code());
      writer.Key("status_name");
      WriteJsonString(code_name, writer);
      writer.Key("status_message");
      WriteJsonString(response.status_message(), writer);
      writer.Key("decision");
      if (response.has_decision()) {
        WriteMessageJson(response.decision(), writer);
      } else {
        writer.Null();
      }
      writer.Key("explanation");
      WriteMessageJson(response.explanation(), writer);
      writer.EndObject();
    });
  } else {
    PrintField("status_code", std::to_string(response.status_code()), std::cout);
    PrintField("status_name", code_name, std::cout);
    PrintField("status_message", response.status_message(), std::cout);
    if (response.has_decision()) PrintDecision(response.decision(), std::cout);
    PrintExplanation(response.explanation(), std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------------------ policies

int RunPolicyApply(Session& session, const PolicyArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  std::string policy_id = args.policy_id;
  if (policy_id.empty()) {
    if (args.file == "-") return UsageError("--id is required when the document comes from stdin");
    policy_id = std::filesystem::path(args.file).filename().string();
    constexpr std::string_view kSuffix = ".json";
    if (policy_id.size() > kSuffix.size() && policy_id.ends_with(kSuffix)) {
      policy_id.resize(policy_id.size() - kSuffix.size());
    }
  }
  absl::StatusOr<std::string> document = ReadTextFile(args.file);
  if (!document.ok()) return UsageError(Message(document.status()));
  if (document->empty()) return UsageError("policy file \"" + args.file + "\" is empty");

  pb::UpsertPolicyRequest upsert;
  upsert.set_tenant_id(session.options().tenant);
  upsert.mutable_policy()->set_policy_id(policy_id);
  upsert.mutable_policy()->set_policy_json(*document);
  upsert.mutable_policy()->set_version(args.expect_version);
  pb::UpsertPolicyResponse upsert_response;
  if (int rc = CallAdmin(session, &Admin::UpsertPolicy, upsert, &upsert_response); rc != kExitOk)
    return rc;

  pb::GetPolicyRequest get;
  get.set_tenant_id(session.options().tenant);
  get.set_policy_id(policy_id);
  pb::GetPolicyResponse get_response;
  if (int rc = CallAdmin(session, &Admin::GetPolicy, get, &get_response); rc != kExitOk) return rc;

  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("ok");
      writer.Bool(upsert_response.ok());
      writer.Key("tenant_id");
      WriteJsonString(session.options().tenant, writer);
      writer.Key("policy_id");
      WriteJsonString(policy_id, writer);
      writer.Key("version");
      writer.Int64(get_response.policy().version());
      writer.Key("policy");
      WriteMessageJson(get_response.policy(), writer);
      writer.EndObject();
    });
  } else {
    PrintField("ok", upsert_response.ok() ? "true" : "false", std::cout);
    PrintField("tenant_id", session.options().tenant, std::cout);
    PrintField("policy_id", policy_id, std::cout);
    PrintField("version", std::to_string(get_response.policy().version()), std::cout);
  }
  return kExitOk;
}

int RunPolicyGet(Session& session, const PolicyArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::GetPolicyRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_policy_id(args.policy_id);
  pb::GetPolicyResponse response;
  if (int rc = CallAdmin(session, &Admin::GetPolicy, request, &response); rc != kExitOk) return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) { WriteMessageJson(response.policy(), writer); });
  } else if (args.document_only) {
    std::cout << response.policy().policy_json() << "\n";
  } else {
    PrintField("tenant_id", session.options().tenant, std::cout);
    PrintField("policy_id", response.policy().policy_id(), std::cout);
    PrintField("version", std::to_string(response.policy().version()), std::cout);
    PrintField("sticky", response.policy().sticky() ? "true" : "false", std::cout);
    for (const auto& provider : response.policy().providers()) {
      PrintField("provider", provider.id() + "=" + FormatDouble(provider.weight()), std::cout);
    }
    for (const auto& rule : response.policy().rules()) {
      PrintField("rule", "match=" + rule.match() + " fallback=" + rule.fallback(), std::cout);
    }
    PrintField("policy_json", response.policy().policy_json(), std::cout);
  }
  return kExitOk;
}

int RunPolicyList(Session& session) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::ListPoliciesRequest request;
  request.set_tenant_id(session.options().tenant);
  pb::ListPoliciesResponse response;
  if (int rc = CallAdmin(session, &Admin::ListPolicies, request, &response); rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitTenantList(session, "policies", response.policies());
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& policy : response.policies()) {
      rows.push_back({policy.policy_id(), std::to_string(policy.version()), JoinProviders(policy)});
    }
    PrintTable({"POLICY_ID", "VERSION", "PROVIDERS"}, rows, std::cout);
  }
  return kExitOk;
}

int RunPolicyDelete(Session& session, const PolicyArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::DeletePolicyRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_policy_id(args.policy_id);
  pb::DeletePolicyResponse response;
  if (int rc = CallAdmin(session, &Admin::DeletePolicy, request, &response); rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("ok");
      writer.Bool(response.ok());
      writer.Key("tenant_id");
      WriteJsonString(session.options().tenant, writer);
      writer.Key("policy_id");
      WriteJsonString(args.policy_id, writer);
      writer.EndObject();
    });
  } else {
    PrintField("ok", response.ok() ? "true" : "false", std::cout);
    PrintField("tenant_id", session.options().tenant, std::cout);
    PrintField("policy_id", args.policy_id, std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------------------ breakers

int RunBreakerList(Session& session, const BreakerArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::GetCircuitBreakerStatesRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_provider_id(args.provider_id);
  pb::GetCircuitBreakerStatesResponse response;
  if (int rc = CallAdmin(session, &Admin::GetCircuitBreakerStates, request, &response);
      rc != kExitOk) {
    return rc;
  }
  if (session.options().json) {
    EmitTenantList(session, "states", response.states());
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : response.states()) {
      rows.push_back(
          {s.provider_id(), s.state(), s.forced_open() ? "true" : "false",
           std::to_string(s.consecutive_failures()), FormatDouble(s.error_rate()),
           std::to_string(s.window_failures()) + "/" + std::to_string(s.window_requests()),
           std::to_string(s.open_remaining_ms()), s.last_trigger_reason()});
    }
    PrintTable({"PROVIDER_ID", "STATE", "FORCED_OPEN", "FAILURES", "ERROR_RATE", "WINDOW",
                "OPEN_REMAINING_MS", "LAST_TRIGGER"},
               rows, std::cout);
  }
  return kExitOk;
}

int RunBreakerReset(Session& session, const BreakerArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  pb::ResetCircuitBreakerRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_provider_id(args.provider_id);
  request.set_target_state(args.target_state);
  pb::ResetCircuitBreakerResponse response;
  if (int rc = CallAdmin(session, &Admin::ResetCircuitBreaker, request, &response); rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) { WriteMessageJson(response, writer); });
  } else {
    PrintField("ok", response.ok() ? "true" : "false", std::cout);
    PrintMessageText(response.state(), "", std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------------------ assignments

int RunAssignmentGet(Session& session, const AssignmentArgs& args) {
  if (int rc = RequireTenant(session); rc != kExitOk) return rc;
  if (args.assignment_id.empty() == args.request_id.empty()) {
    return UsageError("exactly one of --id and --request is required");
  }
  pb::GetAssignmentRequest request;
  request.set_tenant_id(session.options().tenant);
  request.set_assignment_id(args.assignment_id);
  request.set_request_id(args.request_id);
  pb::GetAssignmentResponse response;
  if (int rc = CallAdmin(session, &Admin::GetAssignment, request, &response); rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) { WriteMessageJson(response.assignment(), writer); });
  } else {
    PrintMessageText(response.assignment(), "", std::cout);
  }
  return kExitOk;
}

// ------------------------------------------------------------------------------ status, health

int RunStatus(Session& session) {
  pb::GetCheckpointStatusResponse checkpoint;
  if (int rc = CallAdmin(session, &Admin::GetCheckpointStatus, pb::GetCheckpointStatusRequest(),
                         &checkpoint);
      rc != kExitOk)
    return rc;
  pb::GetValidatorsHealthResponse validators;
  if (int rc = CallAdmin(session, &Admin::GetValidatorsHealth, pb::GetValidatorsHealthRequest(),
                         &validators);
      rc != kExitOk)
    return rc;
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("checkpoint");
      WriteMessageJson(checkpoint.status(), writer);
      writer.Key("validators");
      writer.StartArray();
      for (const auto& validator : validators.validators()) WriteMessageJson(validator, writer);
      writer.EndArray();
      writer.EndObject();
    });
  } else {
    PrintMessageText(checkpoint.status(), "", std::cout);
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : validators.validators()) {
      rows.push_back({v.name(), v.status(), v.details()});
    }
    std::cout << "\n";
    PrintTable({"VALIDATOR", "STATUS", "DETAILS"}, rows, std::cout);
  }
  return kExitOk;
}

int RunHealth(Session& session, const HealthArgs& args) {
  auto context = session.connection().NewContext(/*admin=*/false);
  std::string response;
  grpc::Status status = session.connection().RawUnaryCall(
      context.get(), "/grpc.health.v1.Health/Check", EncodeHealthRequest(args.service), &response);
  if (!status.ok()) return session.RpcError(status, *context, false);
  int code = DecodeHealthStatus(response);
  if (code < 0) {
    return session.RpcError(
        grpc::Status(grpc::StatusCode::INTERNAL, "undecodable HealthCheckResponse"), *context,
        false);
  }
  const std::string name = HealthStatusName(code);
  if (session.options().json) {
    EmitJson([&](JsonWriter& writer) {
      writer.StartObject();
      writer.Key("service");
      WriteJsonString(args.service, writer);
      writer.Key("status");
      WriteJsonString(name, writer);
      writer.EndObject();
    });
  } else {
    PrintField("service", args.service, std::cout);
    PrintField("status", name, std::cout);
  }
  return code == 1 ? kExitOk : kExitRpcError;
}

}  // namespace router::routerctl
