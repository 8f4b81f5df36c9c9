#pragma once
// `beamline-routerctl nats decide`: one decide over NATS request/reply (nats-contracts.md §3.1,
// S1 -> S2) with the cnats client, so the tour and operators can exercise the NATS transport
// without another tool. Prints the router's JSON reply verbatim (it is the contract) and exits 0
// for `"ok":true`, 1 for an error reply or no reply, 2 for bad flags. Single-threaded.

#include <string>
#include <vector>

#include "commands.h"

namespace router::routerctl {

inline constexpr char kNatsUrlEnv[] = "BEAMLINE_ROUTER_NATS_URL";

struct NatsDecideArgs {
  std::string url = "nats://127.0.0.1:4222";          // --nats-url, env BEAMLINE_ROUTER_NATS_URL
  std::string subject = "beamline.router.v1.decide";  // --subject
  std::string request_id;                             // "" = routerctl-<unix ms>
  std::string policy_id;
  std::string task_type = "chat";
  std::string payload_ref = "blob://routerctl/request";
  std::vector<std::string> metadata;  // "key=value" items -> DecideRequest.metadata
  bool push_assignment = false;
  std::string idempotency_key;
  std::string trace_id;
};

// Builds the DecideRequest JSON (exposed for tests); returns a usage error text on bad flags.
std::string BuildNatsDecideRequest(const std::string& tenant, const NatsDecideArgs& args,
                                   std::string* error);

int RunNatsDecide(Session& session, const NatsDecideArgs& args);

}  // namespace router::routerctl
