#pragma once
// Readiness: the ordered readiness checks of OBS §7.2 (config, store, grpc, [nats...],
// shutdown) kept in memory, so /ready, gRPC health and GetValidatorsHealth answer without I/O.
// Components set their check as they start and stop. Thread-safe (one small mutex; never on
// the decide path).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace router::service {

struct CheckState {
  std::string name;
  bool ok = false;
  std::string message;  // why it fails; empty when ok
  int64_t version = 0;  // store: snapshot version counter; 0 = not shown
};

class Readiness {
 public:
  // `checks` in report order, all failing until Set() says otherwise.
  explicit Readiness(std::vector<std::string> checks);

  void Set(const std::string& name, bool ok, std::string message = "", int64_t version = 0);
  void BeginShutdown();

  bool Ready() const;
  bool ShuttingDown() const;
  bool CheckOk(const std::string& name) const;
  std::vector<CheckState> Checks() const;

  // {"status":"ready"|"not_ready","checks":{...},"backpressure":"inactive"}
  std::string ToJson() const;

  // The `backpressure` member of ToJson() (OBS §7.2; reported, never affects readiness): `fn`
  // returns inactive|warning|active; unset = "inactive". Set before serving.
  void SetBackpressureStatus(std::function<std::string_view()> fn) {
    backpressure_ = std::move(fn);
  }

  // Called (outside the lock) after every change, e.g. to update gRPC health statuses.
  void OnChange(std::function<void()> fn);

 private:
  mutable absl::Mutex mu_;
  std::vector<CheckState> checks_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> listeners_ ABSL_GUARDED_BY(mu_);
  std::function<std::string_view()> backpressure_;
};

}  // namespace router::service
