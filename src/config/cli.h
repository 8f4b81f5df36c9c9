#pragma once
// The beamline-router command line (configuration.md §4), the effective-config printer of
// --print-config (secrets shown as "[REDACTED]", §1) and the one-line summary of
// --check-config (`config OK <summary>`), and the key diff used on SIGHUP reloads.
//
//   beamline-router [--config PATH] [--grpc-listen ADDR] [--http-listen ADDR] [--data-dir DIR]
//                   [--log-level LEVEL] [--nats-url URL] [--check-config]
//                   [--enable-testing-hooks] [--print-config] [--print-metrics-catalogue]
//                   [--version] [--help]
//
// No flag takes a secret. Parsing never throws (CLI11's exceptions are caught here).
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_loader.h"

namespace router::config {

struct CommandLine {
  std::optional<std::string> config_path;  // --config
  CliOverrides overrides;                  // --grpc-listen ... --nats-url
  bool check_config = false;
  bool enable_testing_hooks = false;
  bool print_config = false;
  bool print_metrics_catalogue = false;
  bool version = false;
  bool help = false;
};

struct CliParseResult {
  CommandLine flags;
  // -1: carry on; 0: exit now with `output` on stdout (--help); 2: usage error, `output`
  // (the problem followed by the usage text) on stderr.
  int exit_code = -1;
  std::string output;
};

// Parses argv (argv[0] is the program name).
CliParseResult ParseCommandLine(int argc, const char* const* argv);
CliParseResult ParseCommandLine(const std::vector<std::string>& args);  // args[0] = program

// The --help text.
std::string UsageText();

// LoadOptions from the parsed flags and a `environ`-style environment.
LoadOptions MakeLoadOptions(const CommandLine& flags, const char* const* envp);

// The effective configuration as TOML (every key, derived values included). Secrets
// (admin key digests, nats.auth.password / token, tracing.otlp_headers values,
// policy_store.postgres_dsn, credentials inside nats.url) print as "[REDACTED]" when set.
std::string PrintConfigToml(const Config& config);

// SIGHUP support (§5 last paragraph): the dotted keys whose effective values differ (secrets
// compared but never returned as values), in key order; e.g. {"log.level", "nats.url"}.
std::vector<std::string> ChangedKeys(const Config& before, const Config& after);
// True when any changed key is not one of those applied at once (log.level, log.rate_limit_*,
// tracing.sample_ratio): the change is logged as config.restart_required.
bool ReloadNeedsRestart(const std::vector<std::string>& changed_keys);

// One line for `config OK <summary>`: node, listeners, data dir, store, NATS, admin, log level.
std::string ConfigSummary(const Config& config);

}  // namespace router::config
