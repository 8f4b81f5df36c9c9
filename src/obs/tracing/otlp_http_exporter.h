#pragma once
// OtlpHttpExporter: sends one serialized ExportTraceServiceRequest to the collector (OBS §6.6):
// POST <tracing.otlp_endpoint>/v1/traces (suffix not appended when already present),
// Content-Type application/json, the configured extra headers, optional gzip, a per-attempt
// timeout. 429/502/503/504 and connection errors are retried up to twice with backoff
// (Retry-After honoured, at most 5 s); any other non-2xx status fails at once. A 2xx answer's
// partialSuccess.rejectedSpans is reported back.
//
// Confined to the tracer's exporter thread (it owns one keep-alive HTTP client). Never called
// on a request thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "obs/tracing/tracing_options.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace router::obs {

// Where batches go: "http(s)://host:port" and the request path.
struct OtlpTarget {
  std::string scheme_host_port;
  std::string path;
};

// Splits an OTLP/HTTP base URL ("http://127.0.0.1:4318", "https://c:4318/otlp",
// "http://c:4318/v1/traces"); INVALID_ARGUMENT unless it is http:// or https:// with a host.
absl::StatusOr<OtlpTarget> ParseOtlpEndpoint(std::string_view endpoint);

struct ExportOutcome {
  bool ok = false;             // a 2xx answer
  int64_t rejected_spans = 0;  // partialSuccess.rejectedSpans of that answer
  int attempts = 0;
  std::string failure;  // why it failed, when !ok ("http status 500", "connection ...")
};

// partialSuccess.rejectedSpans of an ExportTraceServiceResponse JSON body (number or decimal
// string), 0 when absent or unreadable.
int64_t RejectedSpansFromResponse(std::string_view body);

class OtlpHttpExporter {
 public:
  OtlpHttpExporter(OtlpTarget target, const TracingOptions& options);
  ~OtlpHttpExporter();
  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  // Posts body. Each attempt is bounded by `timeout`; with allow_retry, retryable failures are
  // retried after wait(delay), which returns false to give up early (shutdown).
  // on_attempt(seconds) observes every attempt's duration. Never throws.
  ExportOutcome Export(const std::string& body, std::chrono::milliseconds timeout, bool allow_retry,
                       absl::FunctionRef<bool(std::chrono::milliseconds)> wait,
                       absl::FunctionRef<void(double seconds)> on_attempt);

  const OtlpTarget& target() const { return target_; }

 private:
  const OtlpTarget target_;
  const TracingOptions& options_;  // the tracer's; outlives this exporter
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace router::obs
