#include "obs/logging/record_format.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace router::obs {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kContextOpen = ",\"context\":{";
constexpr std::string_view kTruncationMarker = "\"record_truncated\":true";

enum class Redaction { kKnownSecrets, kFull };

// Length of the valid UTF-8 sequence at s[i], or 0 with `*invalid_length` set to the length of
// its maximal invalid subpart (at least 1).
size_t Utf8SequenceLength(std::string_view s, size_t i, size_t* invalid_length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  *invalid_length = 1;
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3;
    lo = 0xA0;
  } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
    length = 3;
  } else if (lead == 0xED) {
    length = 3;
    hi = 0x9F;  // no surrogates
  } else if (lead == 0xF0) {
    length = 4;
    lo = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else if (lead == 0xF4) {
    length = 4;
    hi = 0x8F;  // at most U+10FFFF
  } else {
    return 0;  // continuation byte, C0, C1, F5..FF
  }
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= s.size()) {
      *invalid_length = k;
      return 0;
    }
    const unsigned char c = byte(i + k);
    const unsigned char min = (k == 1) ? lo : 0x80;
    const unsigned char max = (k == 1) ? hi : 0xBF;
    if (c < min || c > max) {
      *invalid_length = k;
      return 0;
    }
  }
  return length;
}

// Sanitize, redact, cut: the pipeline every string of a record goes through.
std::string PrepareString(std::string_view raw, const Redactor& redactor, Redaction redaction,
                          size_t max_bytes) {
  std::string s = SanitizeUtf8(raw);
  if (redaction == Redaction::kFull) {
    redactor.RedactString(&s);
  } else {
    redactor.RedactKnownSecrets(&s);
  }
  TruncateUtf8(&s, max_bytes);
  return s;
}

void AppendPreparedString(std::string_view raw, const Redactor& redactor, Redaction redaction,
                          size_t max_bytes, std::string* out) {
  if (redaction == Redaction::kKnownSecrets && !redactor.HasKnownSecrets() &&
      raw.size() <= max_bytes && IsValidUtf8(raw)) {
    AppendJsonString(raw, out);  // nothing to change: no copy
    return;
  }
  AppendJsonString(PrepareString(raw, redactor, redaction, max_bytes), out);
}

void AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    *out += "null";
    return;
  }
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), d);
  out->append(buf, result.ptr);
}

template <typename Int>
void AppendInteger(Int n, std::string* out) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof(buf), n);
  out->append(buf, result.ptr);
}

// Indices of the fields to write: the first position of each key, holding its last value.
using FieldOrder = absl::InlinedVector<size_t, 16>;
FieldOrder EmitOrder(const std::vector<LogField>& fields) {
  FieldOrder slots;  // slots[k]: the last index of the k-th distinct key
  if (fields.size() <= 16) {
    for (size_t i = 0; i < fields.size(); ++i) {
      bool seen = false;
      for (size_t& slot : slots) {
        if (fields[slot].key == fields[i].key) {
          slot = i;
          seen = true;
          break;
        }
      }
      if (!seen) slots.push_back(i);
    }
    return slots;
  }
  std::unordered_map<std::string_view, size_t> slot_of_key;
  for (size_t i = 0; i < fields.size(); ++i) {
    auto [it, inserted] = slot_of_key.emplace(fields[i].key, slots.size());
    if (inserted) {
      slots.push_back(i);
    } else {
      slots[it->second] = i;
    }
  }
  return slots;
}

void AppendValue(const LogValue& value, const Redactor& redactor, size_t max_bytes,
                 std::string* out);

void AppendMember(const LogField& field, const Redactor& redactor, size_t max_bytes,
                  std::string* out) {
  AppendPreparedString(field.key, redactor, Redaction::kKnownSecrets, max_bytes, out);
  out->push_back(':');
  if (redactor.IsSecretKey(field.key)) {
    AppendJsonString(kRedacted, out);
  } else {
    AppendValue(field.value, redactor, max_bytes, out);
  }
}

void AppendValue(const LogValue& value, const Redactor& redactor, size_t max_bytes,
                 std::string* out) {
  switch (value.Kind()) {
    case LogValueKind::kNull:
      *out += "null";
      break;
    case LogValueKind::kBool:
      *out += value.BoolValue() ? "true" : "false";
      break;
    case LogValueKind::kInt:
      AppendInteger(value.IntValue(), out);
      break;
    case LogValueKind::kUint:
      AppendInteger(value.UintValue(), out);
      break;
    case LogValueKind::kDouble:
      AppendDouble(value.DoubleValue(), out);
      break;
    case LogValueKind::kString:
      AppendPreparedString(value.StringValue(), redactor, Redaction::kFull, max_bytes, out);
      break;
    case LogValueKind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const LogValue& item : value.ArrayItems()) {
        if (!first) out->push_back(',');
        first = false;
        AppendValue(item, redactor, max_bytes, out);
      }
      out->push_back(']');
      break;
    }
    case LogValueKind::kObject: {
      const std::vector<LogField>& fields = value.ObjectFields();
      out->push_back('{');
      bool first = true;
      for (size_t index : EmitOrder(fields)) {
        if (!first) out->push_back(',');
        first = false;
        AppendMember(fields[index], redactor, max_bytes, out);
      }
      out->push_back('}');
      break;
    }
  }
}

// Everything before `context`, without the closing brace. `max_bytes` cuts the message and
// the correlation values, `max_name_bytes` the subsystem and event.
void AppendHead(const LogRecord& record, const Redactor& redactor, const FormatOptions& options,
                size_t max_bytes, size_t max_name_bytes, std::string* out) {
  *out += "{\"timestamp\":\"";
  *out += FormatTimestamp(record.timestamp_us);
  *out += "\",\"level\":\"";
  *out += LogLevelName(record.level);
  *out += "\",\"component\":\"router\",\"subsystem\":";
  AppendPreparedString(record.subsystem, redactor, Redaction::kKnownSecrets, max_name_bytes, out);
  *out += ",\"event\":";
  AppendPreparedString(record.event, redactor, Redaction::kKnownSecrets, max_name_bytes, out);
  *out += ",\"message\":";
  AppendPreparedString(record.message, redactor,
                       record.message_from_library ? Redaction::kFull : Redaction::kKnownSecrets,
                       max_bytes, out);
  for (int k = 0; k < kNumCorrelationKeys; ++k) {
    const auto key = static_cast<CorrelationKey>(k);
    const CorrelationValue* value = record.FindCorrelation(key);
    if (IsIntegerCorrelationKey(key)) {
      if (value == nullptr) continue;
      *out += ",\"";
      *out += CorrelationKeyName(key);
      *out += "\":";
      AppendInteger(value->number, out);
      continue;
    }
    std::string_view text;
    if (value != nullptr) {
      text = value->text;
    } else if (key == CorrelationKey::kNodeId) {
      text = options.default_node_id;
    }
    if (text.empty()) continue;
    *out += ",\"";
    *out += CorrelationKeyName(key);
    *out += "\":";
    AppendPreparedString(text, redactor, Redaction::kKnownSecrets, max_bytes, out);
  }
}

}  // namespace

std::string FormatTimestamp(int64_t unix_micros) {
  using std::chrono::days;
  using std::chrono::sys_days;
  using std::chrono::year_month_day;
  constexpr int64_t kMicrosPerSecond = 1'000'000;
  constexpr int64_t kSecondsPerDay = 86'400;
  int64_t seconds = unix_micros / kMicrosPerSecond;
  int64_t micros = unix_micros % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  int64_t day = seconds / kSecondsPerDay;
  int64_t second_of_day = seconds % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --day;
  }
  const year_month_day ymd{sys_days{days{day}}};
  std::string out = "0000-00-00T00:00:00.000000Z";
  const auto put = [&out](size_t pos, int64_t value, int width) {
    for (int k = width - 1; k >= 0; --k) {
      out[pos + static_cast<size_t>(k)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, std::clamp(static_cast<int>(ymd.year()), 0, 9999), 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, second_of_day / 3600, 2);
  put(14, second_of_day / 60 % 60, 2);
  put(17, second_of_day % 60, 2);
  put(20, micros, 6);
  return out;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  size_t invalid_length = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t length = Utf8SequenceLength(s, i, &invalid_length);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  size_t invalid_length = 0;
  while (i < s.size()) {
    const size_t length = Utf8SequenceLength(s, i, &invalid_length);
    if (length == 0) {
      out += kReplacementChar;
      i += invalid_length;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

bool TruncateUtf8(std::string* s, size_t max_bytes) {
  if (s->size() <= max_bytes) return false;
  size_t cut = max_bytes;
  // s[cut] is the first byte dropped; step back while it continues the character before it.
  while (cut > 0 && (static_cast<unsigned char>((*s)[cut]) & 0xC0) == 0x80) --cut;
  s->resize(cut);
  *s += kTruncatedSuffix;
  return true;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(run_start, i - run_start));
    run_start = i + 1;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
        *out += buf;
      }
    }
  }
  out->append(s.substr(run_start));
  out->push_back('"');
}

void AppendRecordLine(const LogRecord& record, const Redactor& redactor,
                      const FormatOptions& options, std::string* out) {
  const size_t max_record = std::max(options.max_record_bytes, kMinRecordBytes);
  const size_t start = out->size();
  // Common case: serialize straight into `out`, then check the size.
  AppendHead(record, redactor, options, options.max_string_bytes, options.max_string_bytes, out);
  if (!record.context.empty()) {
    *out += kContextOpen;
    bool first = true;
    for (size_t index : EmitOrder(record.context)) {
      if (!first) out->push_back(',');
      first = false;
      AppendMember(record.context[index], redactor, options.max_string_bytes, out);
    }
    out->push_back('}');
  }
  out->push_back('}');
  if (out->size() - start <= max_record) {
    out->push_back('\n');
    return;
  }
  out->resize(start);

  std::string head;
  AppendHead(record, redactor, options, options.max_string_bytes, options.max_string_bytes, &head);
  std::vector<std::string> members;
  for (size_t index : EmitOrder(record.context)) {
    std::string member;
    AppendMember(record.context[index], redactor, options.max_string_bytes, &member);
    members.push_back(std::move(member));
  }

  // Too long. Keep the fixed part (cutting the message and correlation values shorter if
  // needed, subsystem and event only as a last resort), then as many context fields as fit,
  // then the marker.
  const size_t reserve = kContextOpen.size() + kTruncationMarker.size() + 2;
  size_t max_bytes = options.max_string_bytes;
  size_t max_name_bytes = options.max_string_bytes;
  while (head.size() + reserve > max_record && max_name_bytes > 0) {
    if (max_bytes > 0) {
      max_bytes /= 2;
    } else {
      max_name_bytes /= 2;
    }
    head.clear();
    AppendHead(record, redactor, options, max_bytes, max_name_bytes, &head);
  }
  *out += head;
  *out += kContextOpen;
  size_t used = head.size() + kContextOpen.size();
  for (const std::string& member : members) {
    if (used + member.size() + 1 + kTruncationMarker.size() + 2 > max_record) continue;
    *out += member;
    out->push_back(',');
    used += member.size() + 1;
  }
  *out += kTruncationMarker;
  *out += "}}\n";
}

std::string FormatRecordLine(const LogRecord& record, const Redactor& redactor,
                             const FormatOptions& options) {
  std::string out;
  AppendRecordLine(record, redactor, options, &out);
  return out;
}

}  // namespace router::obs
