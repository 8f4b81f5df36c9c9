#include "nats/flat_context.h"

#include "nats/json_writer.h"

namespace router::nats_adapter {

void FlatContext::Clear() {
  arena_.clear();
  entries_.clear();
  prefix_.clear();
}

bool FlatContext::Add(simdjson::dom::object object, Source source, const Limits& limits) {
  prefix_.clear();
  return AddObject(object, source, limits, 1);
}

bool FlatContext::AddObject(simdjson::dom::object object, Source source, const Limits& limits,
                            int depth) {
  for (auto field : object) {
    const size_t prefix_len = prefix_.size();
    if (depth > 1) prefix_.push_back('.');
    prefix_.append(field.key.data(), field.key.size());
    bool ok = true;
    if (field.value.type() == simdjson::dom::element_type::OBJECT) {
      ok = depth < limits.max_key_segments &&
           AddObject(field.value.get_object().value_unsafe(), source, limits, depth + 1);
    } else {
      ok = Put(prefix_, source, depth == 1, limits, field.value);
    }
    prefix_.resize(prefix_len);
    if (!ok) return false;
  }
  return true;
}

bool FlatContext::Put(std::string_view key, Source source, bool exact, const Limits& limits,
                      simdjson::dom::element value) {
  using simdjson::dom::element_type;
  if (value.type() == element_type::NULL_VALUE) return true;  // dropped (§3.1)
  if (key.size() > limits.max_key_bytes) return false;

  const uint8_t rank = static_cast<uint8_t>((exact ? 2 : 0) + (source == Source::kMetadata));
  const size_t key_off = arena_.size();
  arena_.append(key);
  const size_t value_off = arena_.size();
  switch (value.type()) {
    case element_type::STRING:
      arena_.append(std::string_view(value.get_string().value_unsafe()));
      break;
    case element_type::BOOL:
      arena_.append(value.get_bool().value_unsafe() ? "true" : "false");
      break;
    default:  // numbers and arrays: their compact JSON text
      AppendJsonElement(arena_, value);
      break;
  }
  const size_t value_len = arena_.size() - value_off;
  if (value_len > limits.max_value_bytes) return false;

  for (Entry& e : entries_) {
    if (e.key_len == key.size() && std::string_view(arena_.data() + e.key_off, e.key_len) == key) {
      if (rank >= e.rank) {  // replace; the old bytes stay unused in the arena
        e.key_off = key_off;
        e.value_off = value_off;
        e.value_len = value_len;
        e.rank = rank;
        e.source = source;
      }
      return true;
    }
  }
  if (entries_.size() >= limits.max_entries) return false;
  entries_.push_back(Entry{key_off, key.size(), value_off, value_len, rank, source});
  return true;
}

const FlatContext::Entry* FlatContext::FindEntry(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key_len == key.size() && KeyOf(e) == key) return &e;
  }
  return nullptr;
}

std::optional<std::string_view> FlatContext::Find(std::string_view key) const {
  if (const Entry* e = FindEntry(key)) return ValueOf(*e);
  return std::nullopt;
}

size_t FlatContext::Size() const { return entries_.size(); }

void FlatContext::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (const Entry& e : entries_) fn(KeyOf(e), ValueOf(e));
}

std::optional<FlatContext::Source> FlatContext::SourceOf(std::string_view key) const {
  if (const Entry* e = FindEntry(key)) return e->source;
  return std::nullopt;
}

}  // namespace router::nats_adapter
