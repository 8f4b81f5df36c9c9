#pragma once
// LoadConfig: built-in defaults < TOML file < BEAMLINE_ROUTER_* environment < CLI flags, merged
// into one validated Config (configuration.md §1-§5).
//
// Every problem is collected and reported together: the error is INVALID_ARGUMENT whose
// message is one `<path>: <problem>` line per problem joined by "\n" (exit code 2 for the
// caller). Loading writes nothing: the data directory is only checked ("exists or can be
// created and is writable", rule 3); PrepareDataDir() creates it at startup, never under
// --check-config.
//
// Relative paths: values from the file resolve against the file's directory; values from the
// environment or the command line, and defaults, against the working directory.
//
// Thread-safety: the functions are reentrant; they read the filesystem and nothing global
// except the host name (when LoadOptions::host_name is empty).

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "config/config.h"

namespace router::config {

// The value flags of §4; each overrides the key its environment variable (§3) overrides.
struct CliOverrides {
  std::optional<std::string> grpc_listen;  // --grpc-listen
  std::optional<std::string> http_listen;  // --http-listen
  std::optional<std::string> data_dir;     // --data-dir
  std::optional<std::string> log_level;    // --log-level
  std::optional<std::string> nats_url;     // --nats-url
};

struct LoadOptions {
  // --config; when absent BEAMLINE_ROUTER_CONFIG names the file; neither = defaults only.
  std::optional<std::string> config_path;
  CliOverrides overrides;
  bool enable_testing_hooks = false;  // permits [testing]
  // The process environment (name -> value). Only BEAMLINE_ROUTER_* names are read; any such
  // name outside §3 is an error.
  std::map<std::string, std::string> environment;
  // Base of relative paths from the environment/CLI and of defaults; "" = current directory.
  std::string working_dir;
  // false skips the filesystem checks (rule 3 data_dir, rule 5 file existence), e.g. to check
  // an example file on a machine without the referenced certificates.
  bool check_files = true;
  const Clock* clock = nullptr;  // stamps loaded_at_ms; nullptr = system clock
  std::string host_name;         // default node_id; "" = gethostname()
};

// Loads, merges and validates. See the file comment for the error format.
absl::StatusOr<Config> LoadConfig(const LoadOptions& options);

// Rule 3 for one directory. create=false: OK when `data_dir` is a writable directory or the
// nearest existing ancestor is a writable directory (nothing is written). create=true: also
// creates the missing directories (the last one with mode 0700). Errors are INVALID_ARGUMENT
// `data_dir: <problem>` (create=false) or INTERNAL with the OS error (create=true).
absl::Status CheckDataDir(const std::string& data_dir, bool create);

// Startup step (never under --check-config): CheckDataDir(config.data_dir, /*create=*/true).
absl::Status PrepareDataDir(const Config& config);

// Copies a `environ`-style array into a map (later duplicates win).
std::map<std::string, std::string> EnvironmentFromEnviron(const char* const* envp);

}  // namespace router::config
