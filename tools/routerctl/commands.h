#pragma once
// The commands of beamline-routerctl (docs/ROUTERCTL.md). Each Run* function performs one command
// against the router and prints its result: human text ("name: value" lines or a table) on
// stdout, or with --json one JSON object on stdout. It returns the process exit code: 0 success,
// 1 RPC error (printed as "error: <CODE_NAME>: <message>" plus details; on stdout as
// {"error": {...}} with --json), 2 usage error. Single-threaded.

#include <cstdint>
#include <string>
#include <vector>

#include "client.h"

namespace router::routerctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

// decide and dry-run.
struct DecideArgs {
  std::string policy_id;
  std::vector<std::string> context;  // "key=value" items, split at the first '='
  std::string message_type;
  std::string payload;
  std::string message_id;
  bool explain = false;     // adds context explain=true
  std::string policy_file;  // dry-run only: inline policy_json document ("-" = stdin)
};

// policy apply / get / list / delete.
struct PolicyArgs {
  std::string file;            // apply: policy document ("-" = stdin)
  std::string policy_id;       // --id
  int64_t expect_version = 0;  // apply: 0 = unconditional
  bool document_only = false;  // get: print only the canonical document
};

// breaker list / reset.
struct BreakerArgs {
  std::string provider_id;
  std::string target_state;  // reset --to: "" | closed | half_open | open
};

// assignment get.
struct AssignmentArgs {
  std::string assignment_id;
  std::string request_id;
};

// health.
struct HealthArgs {
  std::string service;  // "" = whole server
};

// report-outcome.
struct OutcomeArgs {
  std::string provider_id;
  std::string status;
  int64_t latency_ms = 0;
  double cost = 0;
  std::string error_code;
};

// Holds the global options and the connection; owns printing of results and errors.
class Session {
 public:
  explicit Session(const GlobalOptions& options) : options_(options), connection_(options) {}

  const GlobalOptions& options() const { return options_; }
  Connection& connection() { return connection_; }

  // Prints the failed call's error report (stderr text, or stdout JSON) and returns 1.
  int RpcError(const grpc::Status& status, const grpc::ClientContext& context, bool admin_call);

 private:
  GlobalOptions options_;
  Connection connection_;
};

// Prints "error: <message>" and a --help hint on stderr; returns 2.
int UsageError(const std::string& message);

int RunDecide(Session& session, const DecideArgs& args);
int RunDryRun(Session& session, const DecideArgs& args);
int RunPolicyApply(Session& session, const PolicyArgs& args);
int RunPolicyGet(Session& session, const PolicyArgs& args);
int RunPolicyList(Session& session);
int RunPolicyDelete(Session& session, const PolicyArgs& args);
int RunBreakerList(Session& session, const BreakerArgs& args);
int RunBreakerReset(Session& session, const BreakerArgs& args);
int RunAssignmentGet(Session& session, const AssignmentArgs& args);
int RunHealth(Session& session, const HealthArgs& args);
int RunReportOutcome(Session& session, const OutcomeArgs& args);
int RunStatus(Session& session);

}  // namespace router::routerctl
