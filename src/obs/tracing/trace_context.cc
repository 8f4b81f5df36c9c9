#include "obs/tracing/trace_context.h"

#include <sys/random.h>

#include <chrono>
#include <random>
#include <thread>

namespace router::obs {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void WriteHex64(uint64_t v, int nibbles, char* out) {
  for (int i = nibbles - 1; i >= 0; --i) {
    *out++ = kHexDigits[(v >> (i * 4)) & 0xf];
  }
}

// Value of a lowercase hex digit, or -1.
int LowerHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Value of a hex digit of either case, or -1.
int AnyHexValue(char c) {
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return LowerHexValue(c);
}

// Parses `hex` (at most 16 digits) with `digit` into v; false on a bad digit.
template <typename DigitFn>
bool ParseHex64(std::string_view hex, DigitFn digit, uint64_t& v) {
  v = 0;
  for (char c : hex) {
    int d = digit(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return true;
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256++, one per thread, seeded from the OS CSPRNG on first use (OBS §6.1).
struct IdGenerator {
  uint64_t s[4];

  IdGenerator() {
    uint64_t seed[4] = {0, 0, 0, 0};
    ssize_t got = getrandom(seed, sizeof(seed), 0);
    if (got != static_cast<ssize_t>(sizeof(seed))) {
      // getrandom is always there on Linux >= 3.17; this fallback only keeps threads distinct.
      std::random_device rd;
      for (uint64_t& word : seed) {
        word ^= (static_cast<uint64_t>(rd()) << 32) ^ rd();
      }
      seed[0] ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      seed[1] ^= std::hash<std::thread::id>()(std::this_thread::get_id());
    }
    uint64_t sm = seed[0] ^ Rotl(seed[1], 17) ^ Rotl(seed[2], 31) ^ Rotl(seed[3], 47);
    for (int i = 0; i < 4; ++i) s[i] = seed[i] ^ SplitMix64(sm);
    if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;  // xoshiro must not start all zero
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};

uint64_t NextRandom() {
  thread_local IdGenerator generator;
  return generator.Next();
}

}  // namespace

void TraceId::WriteHex(char* out) const {
  WriteHex64(hi, 16, out);
  WriteHex64(lo, 16, out + 16);
}

std::string TraceId::ToHex() const {
  std::string out(32, '0');
  WriteHex(out.data());
  return out;
}

std::optional<TraceId> TraceId::FromHex(std::string_view hex) {
  TraceId id;
  if (hex.size() != 32 || !ParseHex64(hex.substr(0, 16), LowerHexValue, id.hi) ||
      !ParseHex64(hex.substr(16), LowerHexValue, id.lo) || !id.IsValid()) {
    return std::nullopt;
  }
  return id;
}

void SpanId::WriteHex(char* out) const { WriteHex64(value, 16, out); }

std::string SpanId::ToHex() const {
  std::string out(16, '0');
  WriteHex(out.data());
  return out;
}

std::optional<SpanId> SpanId::FromHex(std::string_view hex) {
  SpanId id;
  if (hex.size() != 16 || !ParseHex64(hex, LowerHexValue, id.value) || !id.IsValid()) {
    return std::nullopt;
  }
  return id;
}

TraceId NewTraceId() {
  TraceId id{NextRandom(), NextRandom()};
  while (!id.IsValid()) id.lo = NextRandom();  // 2^-128: kept for the invariant, not for luck
  return id;
}

SpanId NewSpanId() {
  SpanId id{NextRandom()};
  while (!id.IsValid()) id.value = NextRandom();
  return id;
}

std::optional<TraceContext> ParseTraceparent(std::string_view tp) {
  // version "-" trace-id(32) "-" parent-id(16) "-" trace-flags(2) [ "-" future fields ]
  if (tp.size() < kTraceparentLength) return std::nullopt;
  uint64_t version = 0;
  if (!ParseHex64(tp.substr(0, 2), LowerHexValue, version) || version == 0xff) {
    return std::nullopt;
  }
  if (version == 0 && tp.size() != kTraceparentLength) return std::nullopt;
  // A future version may append fields, but only after another dash.
  if (tp.size() > kTraceparentLength && tp[kTraceparentLength] != '-') return std::nullopt;
  if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
  std::optional<TraceId> trace_id = TraceId::FromHex(tp.substr(3, 32));
  std::optional<SpanId> span_id = SpanId::FromHex(tp.substr(36, 16));
  uint64_t flags = 0;
  if (!trace_id || !span_id || !ParseHex64(tp.substr(53, 2), LowerHexValue, flags)) {
    return std::nullopt;
  }
  TraceContext context;
  context.trace_id = *trace_id;
  context.span_id = *span_id;
  context.flags = static_cast<uint8_t>(flags);
  context.has_flags = true;
  context.remote = true;
  return context;
}

void WriteTraceparent(TraceId trace_id, SpanId span_id, uint8_t flags, char* out) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  trace_id.WriteHex(out + 3);
  out[35] = '-';
  span_id.WriteHex(out + 36);
  out[52] = '-';
  WriteHex64(flags, 2, out + 53);
}

std::string FormatTraceparent(TraceId trace_id, SpanId span_id, uint8_t flags) {
  std::string out(kTraceparentLength, '0');
  WriteTraceparent(trace_id, span_id, flags, out.data());
  return out;
}

std::string FormatTraceparent(const TraceContext& context) {
  return FormatTraceparent(context.trace_id, context.span_id,
                           context.sampled() ? kSampledFlag : uint8_t{0});
}

std::optional<TraceId> ParseTraceIdLenient(std::string_view s) {
  char digits[32];
  if (s.size() == 32) {
    for (size_t i = 0; i < 32; ++i) digits[i] = s[i];
  } else if (s.size() == 36) {
    // UUID 8-4-4-4-12: dashes exactly at 8, 13, 18, 23.
    size_t n = 0;
    for (size_t i = 0; i < 36; ++i) {
      bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_position != (s[i] == '-')) return std::nullopt;
      if (!dash_position) digits[n++] = s[i];
    }
  } else {
    return std::nullopt;
  }
  TraceId id;
  std::string_view hex(digits, 32);
  if (!ParseHex64(hex.substr(0, 16), AnyHexValue, id.hi) ||
      !ParseHex64(hex.substr(16), AnyHexValue, id.lo) || !id.IsValid()) {
    return std::nullopt;
  }
  return id;
}

std::string_view ForwardableTracestate(std::string_view tracestate) {
  return tracestate.size() <= kMaxTracestateBytes ? tracestate : std::string_view();
}

}  // namespace router::obs
