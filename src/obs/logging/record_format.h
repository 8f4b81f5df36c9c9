#pragma once
// Serialization of one LogRecord as one JSON line (OBS §5.1), with redaction (§5.3).
//
// Keys in the §5.1 order, absent keys omitted: timestamp, level, component ("router"),
// subsystem, event, message, the correlation keys (CorrelationKey order; empty strings
// omitted), context. Every string (keys included) is made valid UTF-8 first (each maximal
// invalid subsequence becomes U+FFFD, as Unicode and WHATWG recommend), then redacted where
// §5.3 applies (context values at any depth, a library message; known secrets everywhere),
// then cut: at most `max_string_bytes` bytes (never inside a UTF-8 sequence) followed by
// "...(truncated)". A record longer than `max_record_bytes` (newline excluded) stays valid JSON:
// context fields that do not fit are left out and `"record_truncated":true` closes `context`;
// if the fixed part alone is too long, its strings are cut shorter until it fits.
//
// Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "obs/logging/log_record.h"
#include "obs/logging/redaction.h"

namespace router::obs {

inline constexpr std::string_view kTruncatedSuffix = "...(truncated)";
inline constexpr size_t kMinRecordBytes = 1024;

struct FormatOptions {
  size_t max_record_bytes = 16384;  // `log.max_record_bytes`; values below 1024 act as 1024
  size_t max_string_bytes = 2048;
  std::string default_node_id;  // written as node_id when the record has none
};

// Appends the record and a '\n' to `*out`.
void AppendRecordLine(const LogRecord& record, const Redactor& redactor,
                      const FormatOptions& options, std::string* out);
std::string FormatRecordLine(const LogRecord& record, const Redactor& redactor,
                             const FormatOptions& options);

// UTC RFC 3339 with microseconds: "2026-11-26T18:45:00.123456Z".
std::string FormatTimestamp(int64_t unix_micros);

// Each maximal invalid UTF-8 subsequence (and surrogates, overlongs, > U+10FFFF) -> U+FFFD.
std::string SanitizeUtf8(std::string_view s);
bool IsValidUtf8(std::string_view s);

// Cuts valid UTF-8 `*s` to at most `max_bytes` bytes on a character boundary and appends
// kTruncatedSuffix; no change when it already fits. True when it cut.
bool TruncateUtf8(std::string* s, size_t max_bytes);

// Appends `s` (valid UTF-8) as a JSON string literal.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace router::obs
