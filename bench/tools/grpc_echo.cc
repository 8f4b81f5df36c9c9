// bench_grpc_echo: the bare gRPC baseline of grpc_decide (reliability-and-performance.md §2.2).
// Serves beamline.flow.v1.Router/Decide with the router's server options (callback API, raw
// callback method registered through the generated service, default health service, reflection,
// max receive message 1 MiB, 1024 concurrent streams: config defaults, src/app/application.cc):
// each call decodes the RouteRequest and answers one constant, pre-built RouteDecision.
//
// Usage:
//   bench_grpc_echo [--listen 127.0.0.1:0] [--port-file FILE]
//       serve; prints "listening <port>" (and writes the port to FILE); runs until SIGINT/SIGTERM
//   bench_grpc_echo --write-request FILE [--tenant T] [--policy P]
//       writes the grpc_decide request (RouteRequest: tenant bench-0, policy three_providers,
//       message type chat, payload "Hello", context session_id + 2 entries) framed as one gRPC
//       message (flag byte 0, 4-byte big-endian length, bytes): the h2load body
//   bench_grpc_echo --call HOST:PORT [--tenant T] [--policy P]
//       one Decide with that request through the C++ client; exit 0 iff the status is OK
//       (the validity check before a run; prints the chosen provider)
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "beamline/flow/v1/flow.grpc.pb.h"
#include "grpc/proto_codec.h"

namespace {

namespace fv1 = beamline::flow::v1;

using RawDecideBase = fv1::Router::WithRawCallbackMethod_Decide<fv1::Router::Service>;

class EchoService final : public RawDecideBase {
 public:
  EchoService() {
    fv1::RouteDecision d;
    d.set_provider_id("a");
    d.set_reason("sticky");
    d.set_priority(100);
    d.set_expected_latency_ms(200);
    d.set_expected_cost(0.01);
    auto& md = *d.mutable_metadata();
    md["session_id"] = "session-42";
    md["tenant_id"] = "bench-0";
    md["policy_id"] = "three_providers";
    md["policy_version"] = "1";
    md["decision_id"] = "7c9e6679-7425-40de-944b-e07fc1f66afe";
    md["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736";
    d.set_policy_version(1);
    d.set_decision_id("7c9e6679-7425-40de-944b-e07fc1f66afe");
    response_ = d.SerializeAsString();
  }

  ::grpc::ServerUnaryReactor* Decide(::grpc::CallbackServerContext* context,
                                     const ::grpc::ByteBuffer* request,
                                     ::grpc::ByteBuffer* response) override {
    auto* reactor = context->DefaultReactor();
    fv1::RouteRequest req;
    if (!router::grpc_adapter::DecodeRequest(request, &req)) {
      reactor->Finish(::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, "invalid request"));
      return reactor;
    }
    ::grpc::Slice slice(response_);
    *response = ::grpc::ByteBuffer(&slice, 1);
    reactor->Finish(::grpc::Status::OK);
    return reactor;
  }

 private:
  std::string response_;
};

std::string g_tenant = "bench-0";
std::string g_policy = "three_providers";

fv1::RouteRequest BenchRequest() {
  fv1::RouteRequest req;
  req.mutable_message()->set_tenant_id(g_tenant);
  req.mutable_message()->set_message_type("chat");
  req.mutable_message()->set_payload("Hello");
  req.set_policy_id(g_policy);
  auto& ctx = *req.mutable_context();
  ctx["session_id"] = "session-42";
  ctx["region"] = "eu";
  ctx["channel"] = "web";
  return req;
}

int WriteRequest(const std::string& path) {
  const std::string body = BenchRequest().SerializeAsString();
  std::string framed(5, '\0');
  const uint32_t n = static_cast<uint32_t>(body.size());
  framed[1] = static_cast<char>(n >> 24);
  framed[2] = static_cast<char>(n >> 16);
  framed[3] = static_cast<char>(n >> 8);
  framed[4] = static_cast<char>(n);
  framed += body;
  std::ofstream out(path, std::ios::binary);
  out << framed;
  return out ? 0 : 1;
}

int Call(const std::string& target) {
  auto channel = ::grpc::CreateChannel(target, ::grpc::InsecureChannelCredentials());
  auto stub = fv1::Router::NewStub(channel);
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  fv1::RouteDecision decision;
  ::grpc::Status status = stub->Decide(&context, BenchRequest(), &decision);
  if (!status.ok()) {
    std::fprintf(stderr, "Decide failed: %d %s\n", static_cast<int>(status.error_code()),
                 status.error_message().c_str());
    return 1;
  }
  std::printf("ok provider=%s reason=%s\n", decision.provider_id().c_str(),
              decision.reason().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string write_request;
  std::string call;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--listen") == 0) listen = argv[i + 1];
    if (std::strcmp(argv[i], "--port-file") == 0) port_file = argv[i + 1];
    if (std::strcmp(argv[i], "--write-request") == 0) write_request = argv[i + 1];
    if (std::strcmp(argv[i], "--call") == 0) call = argv[i + 1];
    if (std::strcmp(argv[i], "--tenant") == 0) g_tenant = argv[i + 1];
    if (std::strcmp(argv[i], "--policy") == 0) g_policy = argv[i + 1];
  }
  if (!write_request.empty()) return WriteRequest(write_request);
  if (!call.empty()) return Call(call);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoService service;
  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, ::grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(1048576);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1024);
  builder.RegisterService(&service);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "bench_grpc_echo: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("listening %d\n", port);
  std::fflush(stdout);
  if (!port_file.empty()) std::ofstream(port_file) << port << "\n";
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}
