#pragma once
// CallCounterInterceptor: a gRPC server interceptor that reports every finished call with its
// service short name (`Router`, `RouterAdmin`, `Health`, `Reflection`), method name and status
// code, for router_grpc_requests_total{service,method,code} (OBS §2.4-2.5). Seeing the status at
// PRE_SEND_STATUS covers every service, including the built-in health and reflection ones.
// Thread-safe; the callback must be too, and must not block.

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace router::grpc_adapter {

using CallObserver =
    std::function<void(std::string_view service, std::string_view method, ::grpc::StatusCode)>;

// "/beamline.flow.v1.RouterAdmin/UpsertPolicy" -> {"RouterAdmin", "UpsertPolicy"};
// grpc.health.v1.Health -> "Health"; grpc.reflection.*.ServerReflection -> "Reflection".
void SplitMethodPath(std::string_view path, std::string_view* service, std::string_view* method);

// Canonical status name ("OK", "INVALID_ARGUMENT", ...).
std::string_view StatusCodeName(::grpc::StatusCode code);

// `counted_by_handler`: full method paths ("/beamline.flow.v1.Router/Decide") whose handlers
// report to the observer themselves. No interceptor is created for their calls, so gRPC runs
// none of its interception machinery on them (a server interceptor cost the Decide hot path
// ~5 % of its throughput under h2load: docs/PERFORMANCE.md, P3).
std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> MakeCallCounterFactory(
    CallObserver observer, std::vector<std::string> counted_by_handler = {});

}  // namespace router::grpc_adapter
