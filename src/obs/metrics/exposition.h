#pragma once
// Prometheus text exposition format 0.0.4 primitives (observability.md §3): number formatting,
// escaping, and the samples of one series. Registry::Render strings them together.
//
// Numbers: integers (counters, bucket counts, integral doubles below 2^63) without exponent or
// decimals; other doubles in the shortest round-trip form of std::to_chars; `+Inf`, `-Inf`, `NaN`.
// Pure functions over caller-owned buffers; thread-compatible.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "obs/metrics/series.h"

namespace router::obs {

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

void AppendUint(std::string& out, uint64_t v);
void AppendDouble(std::string& out, double v);
// HELP text: `\` -> `\\`, newline -> `\n`.
void AppendEscapedHelp(std::string& out, std::string_view text);
// Label value: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
void AppendEscapedLabelValue(std::string& out, std::string_view value);
// `a="x",b="y"` for parallel name/value lists ("" without labels).
std::string LabelText(std::span<const std::string_view> names, std::span<const std::string> values);
// `le="<bound>"} ` for each bound, then `le="+Inf"} `.
std::vector<std::string> LeTexts(std::span<const double> bounds);

// The sample lines of one series from its cached prefixes (set by the family at creation).
// `le_text` comes from LeTexts() of the series' bounds. A callback value replaces the cells.
void AppendSeriesSamples(std::string& out, const detail::Series& series,
                         std::span<const std::string> le_text);

}  // namespace router::obs
