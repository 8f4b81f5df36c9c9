#pragma once
// Connection of beamline-routerctl to one router: channel, generated stubs and per-call
// ClientContext setup (deadline, x-correlation-id, x-user-id, and for RouterAdmin calls the
// x-api-key credential of grpc-api.md §5.1 taken from env BEAMLINE_ROUTER_ADMIN_API_KEY only).
// Single-threaded use: one Connection per process, calls made one after another.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "beamline/flow/v1/flow.grpc.pb.h"

namespace router::routerctl {

inline constexpr char kAdminKeyEnv[] = "BEAMLINE_ROUTER_ADMIN_API_KEY";
inline constexpr char kAddrEnv[] = "BEAMLINE_ROUTER_ADDR";
inline constexpr char kDefaultAddr[] = "127.0.0.1:9000";

// Flags shared by every command (docs/ROUTERCTL.md "Global flags").
struct GlobalOptions {
  std::string addr = kDefaultAddr;
  bool json = false;
  int64_t timeout_ms = 5000;
  std::string tenant;
  std::string correlation_id;  // sent as x-correlation-id when non-empty
  std::string user_id;         // sent as x-user-id on admin calls when non-empty
};

class Connection {
 public:
  // Creates an insecure channel to options.addr (connection happens lazily on the first call).
  explicit Connection(const GlobalOptions& options);

  // A fresh context for one call. `admin` adds the admin credential (if the env var is set).
  std::unique_ptr<grpc::ClientContext> NewContext(bool admin) const;

  // True when BEAMLINE_ROUTER_ADMIN_API_KEY is set and non-empty.
  bool has_admin_key() const { return !admin_key_.empty(); }

  beamline::flow::v1::Router::Stub& router() { return *router_; }
  beamline::flow::v1::RouterAdmin::Stub& admin() { return *admin_; }

  // Unary call with raw request/response bytes (used for grpc.health.v1, which has no stubs here).
  grpc::Status RawUnaryCall(grpc::ClientContext* context, const std::string& method,
                            const std::string& request, std::string* response);

 private:
  GlobalOptions options_;
  std::string admin_key_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<beamline::flow::v1::Router::Stub> router_;
  std::unique_ptr<beamline::flow::v1::RouterAdmin::Stub> admin_;
  std::unique_ptr<grpc::GenericStub> generic_;
};

// First value of trailing metadata `key` after the call finished, or "".
std::string TrailerValue(const grpc::ClientContext& context, const std::string& key);

// First value of initial (header) metadata `key` after the call finished, or "".
std::string HeaderValue(const grpc::ClientContext& context, const std::string& key);

}  // namespace router::routerctl
