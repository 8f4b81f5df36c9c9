#pragma once
// Client-side helpers for the integration tests (grpc-api.md §13): a shared router process,
// gRPC stubs over loopback, raw-bytes calls (for undecodable bodies, golden encodings, health
// and reflection without generated stubs), protobuf wire encoding/decoding by hand, and
// unpacking of the google.rpc error details. Header-only because router_test_support must not
// depend on gRPC. Thread-safety: the free functions are reentrant; SharedRouter() is started
// once (from a test suite's SetUpTestSuite) and then only read.

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/support/sync_stream.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "beamline/flow/v1/flow.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "support/router_process.h"
#include "support/wait_for.h"

namespace router::itest {

namespace fv1 = ::beamline::flow::v1;
using router::testing::RouterOptions;
using router::testing::RouterProcess;

// Credentials of the standard configuration (kAdminKey through BEAMLINE_ROUTER_ADMIN_API_KEY:
// principal `admin`, admin on `*`).
inline constexpr char kAdminKey[] = "admin-key-0123456789";
inline constexpr char kViewerKey[] = "viewer-key-12345";           // viewer on test_tenant
inline constexpr char kOperatorKey[] = "operator-key-12345";       // operator on test_tenant
inline constexpr char kOtherAdminKey[] = "other-admin-key-12345";  // admin on other_tenant
inline constexpr char kNoRoleKey[] = "norole-key-12345";  // viewer on unrelated_tenant only

inline constexpr char kStandardAdminKeysToml[] = R"toml(
[[admin.keys]]
principal = "viewer1"
key = "viewer-key-12345"
grants = [{tenant = "test_tenant", role = "viewer"}]

[[admin.keys]]
principal = "operator1"
key = "operator-key-12345"
grants = [{tenant = "test_tenant", role = "operator"}]

[[admin.keys]]
principal = "other_admin"
key = "other-admin-key-12345"
grants = [{tenant = "other_tenant", role = "admin"}]

[[admin.keys]]
principal = "norole1"
key = "norole-key-12345"
grants = [{tenant = "unrelated_tenant", role = "viewer"}]
)toml";

inline std::pair<std::string, std::string> AdminKeyEnv() {
  return {"BEAMLINE_ROUTER_ADMIN_API_KEY", kAdminKey};
}

// ------------------------------------------------------------------ raw bytes and the wire

inline grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

inline std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// Protobuf wire format by hand (https://protobuf.dev/programming-guides/encoding/).
inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
inline std::string VarintField(int number, uint64_t v) {
  return Varint(static_cast<uint64_t>(number) << 3 | 0) + Varint(v);
}
inline std::string LenField(int number, const std::string& bytes) {
  return Varint(static_cast<uint64_t>(number) << 3 | 2) + Varint(bytes.size()) + bytes;
}
inline std::string DoubleField(int number, double d) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(d));
  std::memcpy(&bits, &d, sizeof(d));
  std::string out = Varint(static_cast<uint64_t>(number) << 3 | 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  return out;
}
// One map<string,string> entry (key = 1, value = 2) as field `number`.
inline std::string MapEntryField(int number, const std::string& key, const std::string& value) {
  return LenField(number, LenField(1, key) + LenField(2, value));
}

struct WireField {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;  // wire types 0, 1 (raw 64 bits), 5 (raw 32 bits)
  std::string bytes;    // wire type 2
};

// Decodes one message level. Returns false on malformed input.
inline bool ParseWire(const std::string& data, std::vector<WireField>* out) {
  size_t pos = 0;
  auto read_varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= data.size()) return false;
      uint8_t b = static_cast<uint8_t>(data[pos++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (pos < data.size()) {
    uint64_t tag;
    if (!read_varint(&tag)) return false;
    WireField f;
    f.number = static_cast<int>(tag >> 3);
    f.wire_type = static_cast<int>(tag & 7);
    switch (f.wire_type) {
      case 0:
        if (!read_varint(&f.varint)) return false;
        break;
      case 1:
      case 5: {
        size_t n = f.wire_type == 1 ? 8 : 4;
        if (pos + n > data.size()) return false;
        for (size_t i = 0; i < n; ++i) {
          f.varint |= static_cast<uint64_t>(static_cast<uint8_t>(data[pos + i])) << (8 * i);
        }
        pos += n;
        break;
      }
      case 2: {
        uint64_t len;
        if (!read_varint(&len) || pos + len > data.size()) return false;
        f.bytes = data.substr(pos, len);
        pos += len;
        break;
      }
      default:
        return false;
    }
    out->push_back(std::move(f));
  }
  return true;
}

inline double WireDouble(const WireField& f) {
  double d;
  std::memcpy(&d, &f.varint, sizeof(d));
  return d;
}

// ------------------------------------------------------------------ calls

inline std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// Every call gets a deadline so a hung router fails a test instead of the whole run.
inline void SetDeadline(grpc::ClientContext& ctx,
                        std::chrono::milliseconds d = std::chrono::seconds(20)) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

// A ClientContext with a deadline and, when non-empty, `x-api-key: <key>`.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& api_key = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  SetDeadline(*ctx);
  if (!api_key.empty()) ctx->AddMetadata("x-api-key", api_key);
  return ctx;
}

struct RawResult {
  grpc::Status status;
  std::string body;
  std::multimap<std::string, std::string> trailers;
};

// A unary call with raw request bytes to a full method path such as
// "/beamline.flow.v1.Router/Decide". `metadata` is sent as request headers.
inline RawResult RawUnary(grpc::Channel* channel, const std::string& method,
                          const std::string& request,
                          const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ByteBuffer response;
  RawResult result;
  result.status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel, rpc, &ctx, ToByteBuffer(request), &response);
  if (result.status.ok()) result.body = FromByteBuffer(response);
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    result.trailers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return result;
}

// grpc.health.v1.Health/Check by hand (HealthCheckRequest.service = 1; response status = 1:
// 1 SERVING, 2 NOT_SERVING). Returns the RPC status; *serving_status gets the enum value.
inline grpc::Status HealthCheck(grpc::Channel* channel, const std::string& service,
                                int* serving_status) {
  std::string req = service.empty() ? "" : LenField(1, service);
  RawResult r = RawUnary(channel, "/grpc.health.v1.Health/Check", req);
  *serving_status = 0;
  if (r.status.ok()) {
    std::vector<WireField> fields;
    if (ParseWire(r.body, &fields)) {
      for (const auto& f : fields) {
        if (f.number == 1 && f.wire_type == 0) *serving_status = static_cast<int>(f.varint);
      }
    }
  }
  return r.status;
}
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// grpc.reflection.v1alpha list_services by hand: ServerReflectionRequest.list_services = 7;
// ServerReflectionResponse.list_services_response = 6 { repeated ServiceResponse service = 1
// { string name = 1 } }.
inline grpc::Status ListReflectionServices(grpc::Channel* channel, std::vector<std::string>* out) {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  static const char kMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  grpc::internal::RpcMethod rpc(kMethod, grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel, rpc, &ctx));
  stream->Write(ToByteBuffer(LenField(7, "*")));
  stream->WritesDone();
  grpc::ByteBuffer response;
  while (stream->Read(&response)) {
    std::vector<WireField> top;
    if (!ParseWire(FromByteBuffer(response), &top)) continue;
    for (const auto& f : top) {
      if (f.number != 6 || f.wire_type != 2) continue;
      std::vector<WireField> list;
      if (!ParseWire(f.bytes, &list)) continue;
      for (const auto& s : list) {
        if (s.number != 1 || s.wire_type != 2) continue;
        std::vector<WireField> svc;
        if (!ParseWire(s.bytes, &svc)) continue;
        for (const auto& n : svc) {
          if (n.number == 1 && n.wire_type == 2) out->push_back(n.bytes);
        }
      }
    }
  }
  return stream->Finish();
}

// ------------------------------------------------------------------ error details

inline std::optional<google::rpc::Status> DetailsOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  return details;
}

inline std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  auto details = DetailsOf(status);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::ErrorInfo info;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

inline std::optional<google::rpc::BadRequest> BadRequestOf(const grpc::Status& status) {
  auto details = DetailsOf(status);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::BadRequest br;
    if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&br)) return br;
  }
  return std::nullopt;
}

inline std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? kNames[c] : std::to_string(c);
}

inline std::string Describe(const grpc::Status& s) {
  return CodeName(s.error_code()) + " \"" + s.error_message() + "\"";
}

// Checks code, exact message, and that the details carry ErrorInfo{domain beamline.router,
// reason `reason`} (skipped when reason is empty).
inline ::testing::AssertionResult IsError(const grpc::Status& s, grpc::StatusCode code,
                                          const std::string& message,
                                          const std::string& reason = "") {
  if (s.error_code() != code || s.error_message() != message) {
    return ::testing::AssertionFailure()
           << "got " << Describe(s) << ", want " << CodeName(code) << " \"" << message << "\"";
  }
  if (!reason.empty()) {
    auto info = ErrorInfoOf(s);
    if (!info) {
      return ::testing::AssertionFailure()
             << Describe(s) << ": no google.rpc.ErrorInfo in grpc-status-details-bin";
    }
    if (info->domain() != "beamline.router" || info->reason() != reason) {
      return ::testing::AssertionFailure()
             << Describe(s) << ": ErrorInfo{reason \"" << info->reason() << "\", domain \""
             << info->domain() << "\"}, want reason \"" << reason
             << "\", domain \"beamline.router\"";
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult IsOk(const grpc::Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << Describe(s);
}

// ------------------------------------------------------------------ typed helpers

struct Clients {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<fv1::Router::Stub> router;
  std::unique_ptr<fv1::RouterAdmin::Stub> admin;

  explicit Clients(const std::string& target)
      : channel(MakeChannel(target)),
        router(fv1::Router::NewStub(channel)),
        admin(fv1::RouterAdmin::NewStub(channel)) {}

  grpc::Status Decide(const fv1::RouteRequest& req, fv1::RouteDecision* out,
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto ctx = Ctx();
    for (const auto& [k, v] : headers) ctx->AddMetadata(k, v);
    return router->Decide(ctx.get(), req, out);
  }

  grpc::Status Upsert(const std::string& tenant, const std::string& policy_id,
                      const std::string& policy_json, const std::string& key = kAdminKey,
                      int64_t version = 0) {
    fv1::UpsertPolicyRequest req;
    req.set_tenant_id(tenant);
    req.mutable_policy()->set_policy_id(policy_id);
    req.mutable_policy()->set_policy_json(policy_json);
    req.mutable_policy()->set_version(version);
    fv1::UpsertPolicyResponse resp;
    auto ctx = Ctx(key);
    grpc::Status s = admin->UpsertPolicy(ctx.get(), req, &resp);
    if (s.ok() && !resp.ok()) return grpc::Status(grpc::StatusCode::UNKNOWN, "ok=false");
    return s;
  }

  grpc::Status Get(const std::string& tenant, const std::string& policy_id, fv1::AdminPolicy* out,
                   const std::string& key = kAdminKey) {
    fv1::GetPolicyRequest req;
    req.set_tenant_id(tenant);
    req.set_policy_id(policy_id);
    fv1::GetPolicyResponse resp;
    auto ctx = Ctx(key);
    grpc::Status s = admin->GetPolicy(ctx.get(), req, &resp);
    if (out != nullptr) *out = resp.policy();
    return s;
  }

  grpc::Status Delete(const std::string& tenant, const std::string& policy_id,
                      const std::string& key = kAdminKey) {
    fv1::DeletePolicyRequest req;
    req.set_tenant_id(tenant);
    req.set_policy_id(policy_id);
    fv1::DeletePolicyResponse resp;
    auto ctx = Ctx(key);
    grpc::Status s = admin->DeletePolicy(ctx.get(), req, &resp);
    if (s.ok() && !resp.ok()) return grpc::Status(grpc::StatusCode::UNKNOWN, "ok=false");
    return s;
  }

  grpc::Status List(const std::string& tenant, std::vector<fv1::AdminPolicy>* out,
                    const std::string& key = kAdminKey) {
    fv1::ListPoliciesRequest req;
    req.set_tenant_id(tenant);
    fv1::ListPoliciesResponse resp;
    auto ctx = Ctx(key);
    grpc::Status s = admin->ListPolicies(ctx.get(), req, &resp);
    if (out != nullptr) out->assign(resp.policies().begin(), resp.policies().end());
    return s;
  }

  grpc::Status DryRun(const fv1::RouteRequest& request, fv1::DryRunResponse* out,
                      const std::string& key = kAdminKey, const std::string& policy_json = "") {
    fv1::DryRunRequest req;
    *req.mutable_request() = request;
    req.set_policy_json(policy_json);
    auto ctx = Ctx(key);
    return admin->DryRun(ctx.get(), req, out);
  }

  grpc::Status Report(const std::string& tenant, const std::string& provider,
                      const std::string& status, const std::string& error_code = "",
                      int64_t latency_ms = 0, double cost = 0,
                      fv1::ReportOutcomeResponse* out = nullptr) {
    fv1::ReportOutcomeRequest req;
    req.set_tenant_id(tenant);
    req.set_provider_id(provider);
    req.set_status(status);
    req.set_error_code(error_code);
    req.set_latency_ms(latency_ms);
    req.set_cost(cost);
    fv1::ReportOutcomeResponse resp;
    auto ctx = Ctx();
    grpc::Status s = router->ReportOutcome(ctx.get(), req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }
};

// metadata()[key] of a RouteDecision or ErrorInfo, "<absent>" when missing (no throwing .at()).
template <class M>
std::string Meta(const M& message, const std::string& key) {
  auto it = message.metadata().find(key);
  return it == message.metadata().end() ? "<absent>" : it->second;
}

inline fv1::RouteRequest MakeRequest(
    const std::string& tenant, const std::string& policy_id,
    const std::vector<std::pair<std::string, std::string>>& context = {}) {
  fv1::RouteRequest req;
  req.mutable_message()->set_tenant_id(tenant);
  req.mutable_message()->set_message_id("m-1");
  req.set_policy_id(policy_id);
  for (const auto& [k, v] : context) (*req.mutable_context())[k] = v;
  return req;
}

// P(.7/.3) of grpc-api.md §13 as a policy document.
inline constexpr char kP73[] =
    R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}]})";

inline std::string SpecDir() { return ROUTER_SPEC_DIR; }
inline std::string SpecFile(const std::string& rel) {
  return router::testing::ReadWholeFile(SpecDir() + "/" + rel);
}

// Waits until grpc.health.v1 reports "" SERVING (ready, OBS §7.3).
inline absl::Status WaitReady(const RouterProcess& router,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto channel = MakeChannel(router.grpc_target());
  return router::testing::WaitFor(
      [&] {
        int serving = 0;
        grpc::Status s = HealthCheck(channel.get(), "", &serving);
        return s.ok() && serving == kServing;
      },
      timeout, "health \"\" SERVING");
}

// Starts `router` and waits until it is ready.
inline absl::Status StartReady(RouterProcess& router) {
  if (auto s = router.Start(); !s.ok()) return s;
  return WaitReady(router);
}

// The router most suites share: standard admin keys, built-in fixtures, no allowlist. Started
// on first use; killed at process exit. Suites isolate themselves with their own tenants.
struct SharedRouterState {
  std::unique_ptr<RouterProcess> process;
  absl::Status status = absl::UnknownError("not started");
};

inline SharedRouterState& SharedRouter() {
  static SharedRouterState* state = [] {
    auto* st = new SharedRouterState;
    RouterOptions opts;
    opts.config_toml = std::string("[admin]\n") + kStandardAdminKeysToml;
    opts.env.push_back(AdminKeyEnv());
    st->process = std::make_unique<RouterProcess>(opts);
    st->status = StartReady(*st->process);
    // Kill the router (and remove its temp dir) when the test binary exits.
    std::atexit([] { SharedRouter().process.reset(); });
    return st;
  }();
  return *state;
}

// Base fixture for suites on the shared router: SetUp fails the test when the router could not
// start and provides `clients()`.
class SharedRouterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SharedRouter(); }
  void SetUp() override {
    ASSERT_TRUE(SharedRouter().status.ok()) << SharedRouter().status;
    clients_ = std::make_unique<Clients>(SharedRouter().process->grpc_target());
  }
  Clients& clients() { return *clients_; }
  Clients& c() { return *clients_; }
  grpc::Channel* channel() { return clients_->channel.get(); }

 private:
  std::unique_ptr<Clients> clients_;
};

}  // namespace router::itest
