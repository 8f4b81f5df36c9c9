#include "obs/tracing/otlp_http_exporter.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "base/errors.h"

namespace router::obs {
namespace {

constexpr std::string_view kTracesPath = "/v1/traces";
constexpr int kMaxRetries = 2;                          // OBS §6.6
constexpr std::chrono::milliseconds kMaxBackoff{5000};  // OBS §6.6

bool RetryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Retry-After in delta-seconds; nullopt for an HTTP-date or garbage (the backoff applies).
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(std::min<int64_t>(seconds, 3600) * 1000);
}

}  // namespace

absl::StatusOr<OtlpTarget> ParseOtlpEndpoint(std::string_view endpoint) {
  size_t scheme_end = endpoint.find("://");
  std::string_view scheme =
      scheme_end == std::string_view::npos ? std::string_view() : endpoint.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        AbslView("tracing.otlp_endpoint must start with http:// or https://"));
  }
  size_t host_start = scheme_end + 3;
  size_t path_start = endpoint.find('/', host_start);
  if (path_start == std::string_view::npos) path_start = endpoint.size();
  if (path_start == host_start) {
    return absl::InvalidArgumentError(AbslView("tracing.otlp_endpoint has no host"));
  }
  OtlpTarget target;
  target.scheme_host_port = std::string(endpoint.substr(0, path_start));
  std::string_view path = endpoint.substr(path_start);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  target.path = std::string(path);
  if (!path.ends_with(kTracesPath)) target.path += kTracesPath;
  return target;
}

int64_t RejectedSpansFromResponse(std::string_view body) {
  constexpr std::string_view kKey = "\"rejectedSpans\"";
  size_t at = body.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = body.substr(at + kKey.size());
  auto skip_space = [&] {
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
      rest.remove_prefix(1);
    }
  };
  skip_space();
  if (rest.empty() || rest.front() != ':') return 0;
  rest.remove_prefix(1);
  skip_space();
  if (!rest.empty() && rest.front() == '"') rest.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  (void)end;
  if (ec != std::errc() || value < 0) return 0;
  return value;
}

OtlpHttpExporter::OtlpHttpExporter(OtlpTarget target, const TracingOptions& options)
    : target_(std::move(target)),
      options_(options),
      client_(std::make_unique<httplib::Client>(target_.scheme_host_port)) {
  client_->set_keep_alive(true);
  // Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
  client_->set_tcp_nodelay(true);
  client_->set_compress(options_.otlp_gzip);
}

OtlpHttpExporter::~OtlpHttpExporter() = default;

ExportOutcome OtlpHttpExporter::Export(const std::string& body, std::chrono::milliseconds timeout,
                                       bool allow_retry,
                                       absl::FunctionRef<bool(std::chrono::milliseconds)> wait,
                                       absl::FunctionRef<void(double seconds)> on_attempt) {
  ExportOutcome outcome;
  httplib::Headers headers;
  for (const auto& [name, value] : options_.otlp_headers) headers.emplace(name, value);
  if (timeout < std::chrono::milliseconds(1)) timeout = std::chrono::milliseconds(1);
  std::chrono::milliseconds backoff(std::max<int64_t>(options_.retry_backoff_ms, 0));

  for (int attempt = 0;; ++attempt) {
    outcome.attempts = attempt + 1;
    std::optional<std::chrono::milliseconds> retry_after;
    bool retryable = false;
    try {
      client_->set_connection_timeout(timeout);
      client_->set_read_timeout(timeout);
      client_->set_write_timeout(timeout);
      auto started = std::chrono::steady_clock::now();
      httplib::Result result = client_->Post(target_.path, headers, body, "application/json");
      on_attempt(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (!result) {
        retryable = true;
        outcome.failure = "connection error: " + httplib::to_string(result.error());
      } else if (result->status >= 200 && result->status < 300) {
        outcome.ok = true;
        outcome.failure.clear();
        outcome.rejected_spans = RejectedSpansFromResponse(result->body);
        return outcome;
      } else {
        retryable = RetryableStatus(result->status);
        outcome.failure = "http status " + std::to_string(result->status);
        if (retryable && result->has_header("Retry-After")) {
          retry_after = ParseRetryAfter(result->get_header_value("Retry-After"));
        }
      }
    } catch (const std::exception& e) {
      outcome.failure = std::string("exception: ") + e.what();
      return outcome;
    } catch (...) {
      outcome.failure = "exception";
      return outcome;
    }
    if (!retryable || !allow_retry || attempt >= kMaxRetries) return outcome;
    std::chrono::milliseconds delay = std::min(retry_after.value_or(backoff), kMaxBackoff);
    if (!wait(delay)) return outcome;
    backoff *= 2;
  }
}

}  // namespace router::obs
