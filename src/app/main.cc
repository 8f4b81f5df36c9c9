// beamline-router entry point: parse the command line, load and validate the configuration
// (exit 2 on error), start the Application (exit 1 on a startup failure), serve until
// SIGTERM/SIGINT, then shut down gracefully (exit 0).

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "app/application.h"
#include "app/log.h"
#include "app/observability_setup.h"
#include "app/version.h"
#include "base/errors.h"
#include "config/cli.h"
#include "config/config_loader.h"
#include "obs/metrics/catalogue.h"

extern char** environ;

namespace {

int Run(int argc, char** argv) {
  // Block the shutdown and reload signals before any thread exists (threads inherit the mask),
  // so only the waiter thread below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto parsed = router::config::ParseCommandLine(argc, argv);
  if (parsed.exit_code >= 0) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.output;
    return parsed.exit_code;
  }
  const auto& flags = parsed.flags;
  if (flags.version) {
    std::cout << "beamline-router " << router::app::kVersion << "\n";
    return 0;
  }
  if (flags.print_metrics_catalogue) {
    std::cout << router::obs::CatalogueJson() << "\n";
    return 0;
  }
  auto options = router::config::MakeLoadOptions(flags, environ);
  if (flags.check_config) options.check_files = true;
  auto config = router::config::LoadConfig(options);
  if (!config.ok()) {
    std::cerr << router::StdView(config.status().message()) << "\n";
    return 2;
  }
  if (flags.check_config) {
    std::cout << "config OK " << router::config::ConfigSummary(*config) << "\n";
    return 0;
  }
  if (flags.print_config) {
    std::cout << router::config::PrintConfigToml(*config);
    return 0;
  }
  // The configured logger replaces the default stdout one for the rest of the process.
  auto logger = router::app::CreateLogger(*config);
  if (!logger.ok()) {
    std::cerr << router::StdView(logger.status().message()) << "\n";
    return 1;
  }
  router::obs::SetGlobalLogger(logger->get());
  struct LoggerGuard {
    router::obs::Logger* logger;
    ~LoggerGuard() {
      logger->Flush();
      router::obs::SetGlobalLogger(nullptr);
      logger->Stop();
    }
  } logger_guard{logger->get()};
  router::app::LogEvent("INFO", "main", "router.starting", "starting",
                        {{"version", router::app::kVersion},
                         {"config_path", config->config_file},
                         {"node_id", config->node_id}});

  router::app::Application app(*std::move(config));
  if (auto s = app.Start(); !s.ok()) {
    std::string message(router::StdView(s.message()));
    router::app::LogEvent("ERROR", "main", "router.fatal", "startup failed", {{"error", message}});
    std::cerr << message << "\n";
    return 1;
  }
  std::thread signal_waiter([&app, signals, &options] {
    int sig = 0;
    while (true) {
      sigwait(&signals, &sig);
      if (sig != SIGHUP) break;
      // configuration.md §5: SIGHUP re-reads and validates the file; the running config stays
      // when it is invalid.
      app.Reload(router::config::LoadConfig(options));
    }
    router::app::LogEvent("INFO", "main", "router.shutdown.begin", "shutdown requested",
                          {{"signal", std::to_string(sig)}});
    app.Shutdown();
  });
  app.Wait();
  // Wake the waiter if the server stopped for another reason.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's absl is built without NDEBUG, so every absl::Mutex lock runs the deadlock-cycle
  // detector (measured: +30 % CPU per decide on the sticky path, -5 points of the gRPC
  // throughput ratio; docs/PERFORMANCE.md). Lock order is checked in the unit tests, which keep
  // the detector on; the production binary turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fatal: " << e.what() << "\n";
    return 1;
  }
}
