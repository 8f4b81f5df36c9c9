#pragma once
// RouterProcess: launches the real beamline-router binary for integration tests
// (grpc-api.md §13, policy-and-decisions.md §12 scenario 10).
//
// Each instance owns a fresh temporary directory holding the data dir (kept across Restart so
// persistence can be tested), the optional config file, files written with WriteFile (e.g.
// fixtures) and the captured stdout/stderr of every run (`stdout-<run>.log`,
// `stderr-<run>.log`). Start() forks/execs the binary with `--grpc-listen 127.0.0.1:0
// --http-listen 127.0.0.1:0 --data-dir <tmp>/data [--config <tmp>/router.toml]`, then polls its
// stdout for the `router.listening` line (configuration.md §2) and parses the bound ports.
// StartExpectingFailure() is the "startup must fail" mode: it waits for the process to exit
// and returns its exit code and output.
//
// The binary is ROUTER_BINARY_DIR "/beamline-router" unless the environment variable ROUTER_BIN
// names another one. The child inherits the environment minus every BEAMLINE_ROUTER_* variable,
// plus RouterOptions::env. The destructor kills the process (SIGKILL) and removes the
// temporary directory (unless ROUTER_KEEP_TMP is set, for debugging).
//
// Thread-safety: not thread-safe; drive one instance from one thread (typically a test
// fixture). Accessors of the ports are safe to read from other threads while no Start/Restart
// runs.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace router::testing {

struct RouterOptions {
  // TOML written to <tmp>/router.toml and passed with --config when non-empty. Every "${TMP}"
  // is replaced by the temporary directory's absolute path.
  std::string config_toml;
  // Extra environment variables for the child (e.g. BEAMLINE_ROUTER_ADMIN_API_KEY).
  std::vector<std::pair<std::string, std::string>> env;
  // Extra command-line arguments, appended after the generated ones.
  std::vector<std::string> extra_args;
  // How long Start() waits for `router.listening` / StartExpectingFailure() for the exit.
  std::chrono::milliseconds startup_timeout{30000};
};

// What a run that was expected to fail left behind.
struct ExitReport {
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string stdout_text;
  std::string stderr_text;
};

class RouterProcess {
 public:
  explicit RouterProcess(RouterOptions options = {});
  ~RouterProcess();
  RouterProcess(const RouterProcess&) = delete;
  RouterProcess& operator=(const RouterProcess&) = delete;

  // Starts the router and waits for `router.listening`. Errors: the temp dir could not be
  // prepared, fork/exec failed, the process exited early (message includes its exit code and
  // output tail) or the deadline passed.
  absl::Status Start();
  // Starts the router and waits for it to exit. Errors: it printed `router.listening` (then it
  // is killed) or did not exit within the startup timeout.
  absl::StatusOr<ExitReport> StartExpectingFailure();
  // SIGKILL and reap (no-op when not running).
  void Kill();
  // SIGTERM, then waits up to `timeout` for the exit; returns the exit code (128 + signal when
  // signalled). DEADLINE_EXCEEDED (process then SIGKILLed) when it did not exit in time.
  absl::StatusOr<int> Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends `signal` to the running process (no-op when not running); does not wait.
  void Signal(int signal);
  // Waits up to `timeout` for the process to exit; returns its exit code (128 + signal when
  // signalled). DEADLINE_EXCEEDED when it is still running (it is left running).
  absl::StatusOr<int> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Kill() then Start() on the same data dir.
  absl::Status Restart();

  // True while the child process exists and has not been reaped.
  bool Running();
  pid_t pid() const { return pid_; }
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // "127.0.0.1:<grpc_port>".
  std::string grpc_target() const;

  const std::string& temp_dir() const { return temp_dir_; }
  const std::string& data_dir() const { return data_dir_; }
  // Writes `content` to <tmp>/<relative_path> (creating parent directories) and returns the
  // absolute path.
  absl::StatusOr<std::string> WriteFile(const std::string& relative_path,
                                        const std::string& content);
  // Replaces the config file for the next Start/Restart (same "${TMP}" substitution);
  // "" removes --config.
  absl::Status SetConfigToml(const std::string& toml);
  // Output of the current (latest) run so far.
  std::string ReadStdout() const;
  std::string ReadStderr() const;
  // The binary that Start() executes.
  static std::string BinaryPath();

 private:
  absl::Status Spawn();
  // Reaps the child if it exited; returns true when it has (exit code in last_exit_code_).
  bool Reap(bool block);
  absl::Status PrepareTempDir();
  absl::Status WriteConfig();

  RouterOptions options_;
  std::string temp_dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string stdout_path_;
  std::string stderr_path_;
  int run_ = 0;
  pid_t pid_ = -1;
  int last_exit_code_ = -1;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// Parses `"grpc_port":"<n>"` / `"http_port":"<n>"` (quoted or bare numbers) from the first line
// of `output` that contains `router.listening`. Returns false when no complete line has both.
bool ParseListeningLine(const std::string& output, int* grpc_port, int* http_port);

// Reads a whole file; "" when it cannot be read.
std::string ReadWholeFile(const std::string& path);

}  // namespace router::testing
