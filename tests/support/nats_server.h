#pragma once
// NatsServerProcess: a real `nats-server -js` for integration tests (nats-contracts.md §12
// harness). Each instance owns a temporary directory with the JetStream store (`store/`), the
// ports directory and the server's output. Start() runs
//   nats-server -js -a 127.0.0.1 -p -1 -sd <tmp>/store --ports_file_dir <tmp>/ports [-c cfg]
// and reads the chosen port from `<tmp>/ports/nats-server_<pid>.ports` with a deadline, so no
// port is guessed. Restart() starts a new process on the same port and store (a SIGKILLed
// server's JetStream data survives). The destructor SIGKILLs the process and removes the
// directory (kept when ROUTER_KEEP_TMP is set).
//
// The binary is `nats-server` from PATH unless NATS_SERVER_BIN names another one.
// Thread-safety: not thread-safe; drive one instance from one thread. port()/url() may be read
// from other threads while no Start/Restart runs.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace router::testing {

struct NatsServerOptions {
  bool jetstream = true;
  // Server configuration file content (written to <tmp>/nats.conf and passed with -c) for
  // options without a flag, e.g. authorization blocks. "${TMP}" is replaced by the temp dir.
  std::string config_text;
  std::vector<std::string> extra_args;
  std::chrono::milliseconds startup_timeout{15000};
};

class NatsServerProcess {
 public:
  explicit NatsServerProcess(NatsServerOptions options = {});
  ~NatsServerProcess();
  NatsServerProcess(const NatsServerProcess&) = delete;
  NatsServerProcess& operator=(const NatsServerProcess&) = delete;

  // Starts the server (a free port on the first start, the same port afterwards) and waits for
  // its ports file. Errors: temp dir, fork/exec, early exit (with its output) or deadline.
  absl::Status Start();
  // Sends `signal` (default SIGKILL) and reaps the process; no-op when not running.
  void Kill(int signal = SIGKILL);
  // Kill(SIGKILL), then Start() on the same port and store directory.
  absl::Status Restart();

  bool Running();
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "nats://127.0.0.1:<port>".
  std::string url() const;
  const std::string& temp_dir() const { return temp_dir_; }
  const std::string& store_dir() const { return store_dir_; }
  // The server's combined output of the current run.
  std::string ReadLog() const;

 private:
  absl::Status PrepareTempDir();
  bool Reap(bool block);

  NatsServerOptions options_;
  std::string temp_dir_;
  std::string store_dir_;
  std::string ports_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  int run_ = 0;
};

// The client port in a nats-server ports file ({"nats":["nats://127.0.0.1:4222"],...}, or a
// tls:// URL); 0 when the text has none.
int ParseNatsPortsFile(const std::string& text);

}  // namespace router::testing
