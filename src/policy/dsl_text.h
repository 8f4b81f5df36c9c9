#pragma once
// Small text helpers shared by the policy validator, compiler and legacy conversion:
// JSON paths (POL §1.5 "Paths"), bound formatting (POL §1.5 "Message catalogue"), exact decimal
// reading of number lexemes (POL §1.1 rule 3) and the identifier patterns of POL §0 / §2.
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace router::policy {

// `parent` + `.key` or `["key"]` (JSON-escaped); the root `$` contributes no prefix.
std::string ChildPath(std::string_view parent, std::string_view key);
// `parent[i]`.
std::string IndexPath(std::string_view parent, size_t index);

// Integer bound: "1000". Fractional bound: shortest round-trip form with at least one decimal,
// never an exponent ("0.01", "1.0", "1000000.0").
std::string FormatIntBound(int64_t v);
std::string FormatFracBound(double v);

// Reads an integer JSON lexeme (no '.'/exponent). False when it does not fit in int64.
bool LexemeToInt64(std::string_view lexeme, int64_t& out);
// Any JSON number lexeme as a double (strtod semantics).
double LexemeToDouble(std::string_view lexeme);

// Result of scaling a number lexeme by 10^6 exactly (no binary floating point).
struct MicroScaled {
  bool negative = false;  // sign of a non-zero value
  bool zero = true;       // the value is exactly 0
  bool overflow = false;  // value*10^6 does not fit in 18 digits
  uint64_t integer = 0;   // floor(|value| * 10^6)
  bool fraction = false;  // |value| * 10^6 has a non-zero fractional part
  bool round_up = false;  // that fractional part is >= 0.5 (half away from zero)
};
MicroScaled ScaleLexemeByMillion(std::string_view lexeme);

// POL §0 / §2 patterns.
inline constexpr std::string_view kProviderPattern = "^[A-Za-z0-9_.:/-]{1,128}$";
inline constexpr std::string_view kExtensionIdPattern = "^[a-z0-9_]{1,64}$";
inline constexpr std::string_view kSessionKeyPattern = "^[A-Za-z0-9_.-]{1,255}$";
inline constexpr std::string_view kContextPathPattern =
    "^[A-Za-z0-9_-]{1,64}(\\.[A-Za-z0-9_-]{1,64}){0,7}$";
bool IsProviderName(std::string_view s);
bool IsExtensionId(std::string_view s);
bool IsSessionKey(std::string_view s);
bool IsContextPath(std::string_view s);
// A path with a leading "context." segment dropped (POL §2 "Path resolution").
std::string_view DropContextPrefix(std::string_view path);

// `"s"` with the minimal JSON escaping (used inside messages).
std::string Quoted(std::string_view s);

}  // namespace router::policy
