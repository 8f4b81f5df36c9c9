// bench_store_memory: heap bytes per entry of the router's three in-memory stores (spec P7:
// "per-entry memory of sticky, idempotency and correlation stores documented"), with entries
// shaped like the benchmark's traffic: a sticky pin of (bench-0, three_providers, s-<n>); a
// NATS pushing decide's idempotency record (reply ~450 B, ExecAssignment ~900 B); a
// correlation record with uuid ids and a 32-hex trace id.
//
//   bench_store_memory [--entries N]     (default 100000; make test runs it with 2000)
//
// Heap bytes come from glibc's mallinfo2() (in-use chunks + mmapped blocks; this tool is not
// linked with jemalloc), measured
// around filling each store on its own with N entries: what the store's containers and
// strings hold, allocator overhead included. Prints one markdown row per store.

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/system_clock.h"
#include "core/sticky_table.h"
#include "service/correlation_store.h"
#include "service/idempotency_store.h"

namespace {

size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // chunks in use + mmapped blocks (large tables)
}

std::string Uuid(size_t n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08zx-7425-40de-944b-%012zx", n, n * 7919);
  return buf;
}

void Row(const char* store, size_t entries, size_t before, size_t after, const char* shape) {
  const double per = entries > 0 ? static_cast<double>(after - before) / entries : 0;
  std::printf("| %s | %zu | %.0f | %s |\n", store, entries, per, shape);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--entries") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);
  }
  router::SystemClock clock;
  std::printf("| store | entries | heap bytes per entry | entry shape |\n|---|---|---|---|\n");
  {
    const size_t before = HeapInUse();
    router::core::StickyTable table(64, 1'000'000);
    const auto now = clock.MonoNow();
    std::string session;
    for (size_t i = 0; i < n; ++i) {
      session = "s-" + std::to_string(i);
      table.Put({"bench-0", "three_providers", session}, "openai", now, std::chrono::seconds(600));
    }
    Row("sticky", n, before, HeapInUse(), "pin (bench-0, three_providers, s-<n>) -> openai");
  }
  {
    router::service::IdempotencyStoreOptions options;
    options.max_entries = n + 1;
    const size_t before = HeapInUse();
    router::service::IdempotencyStore store(options, clock);
    const std::string response(450, 'r');
    const std::string payload(900, 'p');
    for (size_t i = 0; i < n; ++i) {
      router::service::IdempotencyKey key{router::service::Transport::kNats, "bench-0",
                                          "idem-" + std::to_string(i)};
      auto acquired =
          store.Acquire(key, router::service::NatsDecideFingerprint(
                                 "bench-0", "three_providers", "{\"type\":\"text.generate\"}", "{}",
                                 "{}", true, "caf.exec.assign.v1", "{}"));
      if (acquired.kind != router::service::IdempotencyAcquire::Kind::kFresh) return 1;
      router::service::IdempotencyRecord record;
      record.response = response;
      record.decision_id = Uuid(i);
      record.assignment_id = Uuid(i + n);
      record.assignment_payload = payload;
      record.assignment_subject = "caf.exec.assign.v1";
      record.assignment_status = "published";
      acquired.slot.Complete(std::move(record));
    }
    Row("idempotency", n, before, HeapInUse(),
        "NATS pushing decide: 450 B reply, 900 B ExecAssignment, two uuids");
  }
  {
    router::service::CorrelationStoreOptions options;
    options.max_entries = n + 1;
    const size_t before = HeapInUse();
    router::service::CorrelationStore store(options, clock);
    for (size_t i = 0; i < n; ++i) {
      router::service::AssignmentRecord r;
      r.assignment_id = Uuid(i);
      r.request_id = "ld-0-1-" + std::to_string(i);
      r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
      r.tenant_id = "bench-0";
      r.policy_id = "three_providers";
      r.provider_id = "openai";
      r.decision_id = Uuid(i + n);
      r.subject = "caf.exec.assign.v1";
      store.Create(std::move(r));
    }
    Row("correlation", n, before, HeapInUse(), "pending record: two uuids, trace id, request id");
  }
  return 0;
}
