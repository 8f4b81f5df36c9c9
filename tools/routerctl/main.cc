// beamline-routerctl: command-line client of beamline-router (docs/ROUTERCTL.md; gRPC API in
// spec grpc-api.md). Parses the command line with CLI11 (which throws: caught here, usage errors
// exit 2) and dispatches to one Run* function of commands.h.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "nats_decide.h"

namespace {

using router::routerctl::AssignmentArgs;
using router::routerctl::BreakerArgs;
using router::routerctl::DecideArgs;
using router::routerctl::GlobalOptions;
using router::routerctl::HealthArgs;
using router::routerctl::NatsDecideArgs;
using router::routerctl::OutcomeArgs;
using router::routerctl::PolicyArgs;
using router::routerctl::Session;

void AddDecideFlags(CLI::App* command, DecideArgs* args) {
  command->add_option("--policy", args->policy_id,
                      "policy id (empty: context policy_id, else \"default\")");
  command->add_option("--context", args->context, "context entry KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--message-type", args->message_type, "Message.message_type");
  command->add_option("--payload", args->payload, "Message.payload (sent as bytes)");
  command->add_option("--message-id", args->message_id, "Message.message_id");
  command->add_flag("--explain", args->explain, "ask for an explanation (context explain=true)");
}

int Main(int argc, char** argv) {
  GlobalOptions global;
  if (const char* addr = std::getenv(router::routerctl::kAddrEnv); addr != nullptr && *addr) {
    global.addr = addr;
  }
  CLI::App app{
      "beamline-routerctl: command-line client of beamline-router.\n"
      "The admin API key is read from the environment variable BEAMLINE_ROUTER_ADMIN_API_KEY "
      "only.",
      "beamline-routerctl"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--addr", global.addr,
                 "router gRPC address HOST:PORT (env BEAMLINE_ROUTER_ADDR, default "
                 "127.0.0.1:9000)");
  app.add_flag("--json", global.json, "print one JSON object instead of text");
  app.add_option("--timeout-ms", global.timeout_ms, "deadline of each call in ms")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--tenant", global.tenant, "tenant id");
  app.add_option("--correlation-id", global.correlation_id, "sent as x-correlation-id");
  app.add_option("--user", global.user_id, "sent as x-user-id on admin calls (audit only)");

  DecideArgs decide_args;
  CLI::App* decide = app.add_subcommand("decide", "Router.Decide: choose a provider");
  AddDecideFlags(decide, &decide_args);

  DecideArgs dry_run_args;
  CLI::App* dry_run =
      app.add_subcommand("dry-run", "RouterAdmin.DryRun: evaluate a decide without side effects");
  AddDecideFlags(dry_run, &dry_run_args);
  dry_run->add_option("-f,--file", dry_run_args.policy_file,
                      "evaluate this unsaved policy document instead of the stored one ('-' = "
                      "stdin)");

  OutcomeArgs outcome_args;
  CLI::App* outcome =
      app.add_subcommand("report-outcome", "Router.ReportOutcome: report how a provider call went");
  outcome->add_option("--provider", outcome_args.provider_id, "provider id")->required();
  outcome->add_option("--status", outcome_args.status, "success|error|timeout|cancelled")
      ->required();
  outcome->add_option("--latency-ms", outcome_args.latency_ms, "observed latency (0 = unknown)");
  outcome->add_option("--cost", outcome_args.cost, "observed cost (0 = unknown)");
  outcome->add_option("--error-code", outcome_args.error_code, "error code for status=error");

  CLI::App* policy = app.add_subcommand("policy", "policy administration");
  policy->require_subcommand(1);
  PolicyArgs apply_args;
  CLI::App* apply = policy->add_subcommand("apply", "upsert a policy document, print its version");
  apply->add_option("-f,--file", apply_args.file, "policy JSON document ('-' = stdin)")->required();
  apply->add_option("--id", apply_args.policy_id, "policy id (default: file name without .json)");
  apply
      ->add_option("--expect-version", apply_args.expect_version,
                   "fail with ABORTED unless the current version is N")
      ->check(CLI::NonNegativeNumber);
  PolicyArgs get_args;
  CLI::App* get = policy->add_subcommand("get", "print a policy (canonical document, version)");
  get->add_option("--id", get_args.policy_id, "policy id")->required();
  get->add_flag("--document", get_args.document_only, "print only the canonical JSON document");
  CLI::App* list = policy->add_subcommand("list", "list the policies of a tenant");
  PolicyArgs delete_args;
  CLI::App* remove = policy->add_subcommand("delete", "delete a policy");
  remove->add_option("--id", delete_args.policy_id, "policy id")->required();

  CLI::App* breaker = app.add_subcommand("breaker", "circuit breaker administration");
  breaker->require_subcommand(1);
  BreakerArgs breaker_list_args;
  CLI::App* breaker_list = breaker->add_subcommand("list", "breaker states of a tenant");
  breaker_list->add_option("--provider", breaker_list_args.provider_id, "only this provider");
  BreakerArgs reset_args;
  CLI::App* reset = breaker->add_subcommand("reset", "reset (or force) a breaker");
  reset->add_option("--provider", reset_args.provider_id, "provider id")->required();
  reset->add_option("--to", reset_args.target_state, "closed (default) | half_open | open")
      ->check(CLI::IsMember({"closed", "half_open", "open"}));

  CLI::App* assignment = app.add_subcommand("assignment", "assignment tracking");
  assignment->require_subcommand(1);
  AssignmentArgs assignment_args;
  CLI::App* assignment_get = assignment->add_subcommand("get", "look up one assignment");
  CLI::Option* by_id =
      assignment_get->add_option("--id", assignment_args.assignment_id, "assignment id");
  CLI::Option* by_request =
      assignment_get->add_option("--request", assignment_args.request_id, "request id");
  by_id->excludes(by_request);

  HealthArgs health_args;
  CLI::App* health = app.add_subcommand("health", "grpc.health.v1.Health/Check");
  health->add_option("--service", health_args.service, "service name (default \"\": server)");

  CLI::App* status =
      app.add_subcommand("status", "RouterAdmin.GetCheckpointStatus and GetValidatorsHealth");

  CLI::App* nats = app.add_subcommand("nats", "the NATS transport (nats-contracts.md)");
  nats->require_subcommand(1);
  NatsDecideArgs nats_args;
  if (const char* url = std::getenv(router::routerctl::kNatsUrlEnv); url != nullptr && *url) {
    nats_args.url = url;
  }
  CLI::App* nats_decide =
      nats->add_subcommand("decide", "one decide over NATS request/reply; prints the JSON reply");
  nats_decide->add_option("--nats-url", nats_args.url, "NATS server URL")->capture_default_str();
  nats_decide->add_option("--subject", nats_args.subject, "decide subject")->capture_default_str();
  nats_decide->add_option("--request-id", nats_args.request_id, "default routerctl-<unix ms>");
  nats_decide->add_option("--policy", nats_args.policy_id, "policy id (default \"default\")");
  nats_decide->add_option("--task-type", nats_args.task_type, "task.type")->capture_default_str();
  nats_decide->add_option("--payload-ref", nats_args.payload_ref, "task.payload_ref")
      ->capture_default_str();
  nats_decide->add_option("--metadata", nats_args.metadata, "metadata entry KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  nats_decide->add_flag("--push", nats_args.push_assignment,
                        "push_assignment: publish an ExecAssignment to JetStream");
  nats_decide->add_option("--idempotency-key", nats_args.idempotency_key, "idempotency_key");
  nats_decide->add_option("--trace-id", nats_args.trace_id, "trace_id");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? router::routerctl::kExitOk : router::routerctl::kExitUsage;
  }

  Session session(global);
  if (decide->parsed()) return RunDecide(session, decide_args);
  if (dry_run->parsed()) return RunDryRun(session, dry_run_args);
  if (outcome->parsed()) return RunReportOutcome(session, outcome_args);
  if (apply->parsed()) return RunPolicyApply(session, apply_args);
  if (get->parsed()) return RunPolicyGet(session, get_args);
  if (list->parsed()) return RunPolicyList(session);
  if (remove->parsed()) return RunPolicyDelete(session, delete_args);
  if (breaker_list->parsed()) return RunBreakerList(session, breaker_list_args);
  if (reset->parsed()) return RunBreakerReset(session, reset_args);
  if (assignment_get->parsed()) return RunAssignmentGet(session, assignment_args);
  if (health->parsed()) return RunHealth(session, health_args);
  if (status->parsed()) return RunStatus(session);
  if (nats_decide->parsed()) return RunNatsDecide(session, nats_args);
  return router::routerctl::UsageError("unknown command");
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
