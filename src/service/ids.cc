#include "service/ids.h"

#include <cstdint>

#include "core/random.h"

namespace router::service {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string& out, uint64_t v, int nibbles) {
  for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(v >> (i * 4)) & 0xf]);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

std::string NewUuidV4() {
  uint64_t hi = core::NextUniqueU64();
  uint64_t lo = core::NextUniqueU64();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10xx
  std::string out;
  out.reserve(36);
  AppendHex(out, hi >> 32, 8);
  out.push_back('-');
  AppendHex(out, (hi >> 16) & 0xffff, 4);
  out.push_back('-');
  AppendHex(out, hi & 0xffff, 4);
  out.push_back('-');
  AppendHex(out, lo >> 48, 4);
  out.push_back('-');
  AppendHex(out, lo & 0xffffffffffffULL, 12);
  return out;
}

std::string NewTraceId() {
  std::string out;
  out.reserve(32);
  uint64_t hi = core::NextUniqueU64();
  uint64_t lo = core::NextUniqueU64() | 1;  // never all zero
  AppendHex(out, hi, 16);
  AppendHex(out, lo, 16);
  return out;
}

bool IsValidId(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidTraceId(std::string_view s) { return s.size() == 32 && IsLowerHex(s) && !AllZero(s); }

std::string_view TraceIdFromTraceparent(std::string_view tp) {
  // version "-" trace-id(32) "-" parent-id(16) "-" flags(2)
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return {};
  std::string_view version = tp.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return {};
  if (version == "00" && tp.size() != 55) return {};
  if (tp.size() > 55 && tp[55] != '-')
    return {};  // W3C: a longer future version continues with '-'

  std::string_view trace_id = tp.substr(3, 32);
  std::string_view parent_id = tp.substr(36, 16);
  if (!IsValidTraceId(trace_id) || !IsLowerHex(parent_id) || AllZero(parent_id)) return {};
  if (!IsLowerHex(tp.substr(53, 2))) return {};
  return trace_id;
}

}  // namespace router::service
