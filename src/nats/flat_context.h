#pragma once
// FlatContext: the routing context of a NATS decide, built from the request's `constraints`
// and `metadata` objects (nats-contracts.md §3.1; POL §2 "Evaluation context").
//
// Flattening: a string is kept as is; a number or boolean becomes its JSON text; `null` is
// dropped; an array becomes its compact JSON text; a nested object contributes
// `parent.child` keys (at most 4 key segments). Because nested objects are flattened into
// dotted keys, the POL §2 path resolution ("exact key first, then walk nested objects") is a
// plain lookup, with this precedence when two entries flatten to the same key:
//   metadata top-level key > constraints top-level key > metadata nested > constraints nested
// (metadata wins; an exact key beats a walked path).
//
// Bounds (`decide.max_context_*`, §3.1): at most max_entries distinct keys, each key at most
// max_key_bytes and each value at most max_value_bytes; violating them is `context_too_large`.
//
// Storage: one arena string plus a small entry vector, both reused across requests (Clear()
// keeps capacity), so a warm context does not allocate. Views returned by Find/ForEach point
// into the arena and stay valid until the next Clear()/Add().
// Thread-compatible: confined to the decide worker that owns it.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/request_context.h"

namespace router::nats_adapter {

class FlatContext final : public service::RequestContext {
 public:
  enum class Source : uint8_t { kConstraints, kMetadata };

  struct Limits {
    size_t max_entries = 64;
    size_t max_key_bytes = 128;
    size_t max_value_bytes = 1024;
    int max_key_segments = 4;
  };

  void Clear();

  // Flattens one object into the context. Returns false as soon as a bound is exceeded (the
  // context is then unusable until Clear()).
  bool Add(simdjson::dom::object object, Source source, const Limits& limits);

  // service::RequestContext
  std::optional<std::string_view> Find(std::string_view key) const override;
  size_t Size() const override;
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const override;

  // Where the entry for `key` came from (for `details.field` of invalid_context replies).
  std::optional<Source> SourceOf(std::string_view key) const;

 private:
  struct Entry {
    size_t key_off;
    size_t key_len;
    size_t value_off;
    size_t value_len;
    uint8_t rank;  // precedence, see the file comment
    Source source;
  };

  bool AddObject(simdjson::dom::object object, Source source, const Limits& limits, int depth);
  bool Put(std::string_view key, Source source, bool exact, const Limits& limits,
           simdjson::dom::element value);
  std::string_view KeyOf(const Entry& e) const { return {arena_.data() + e.key_off, e.key_len}; }
  std::string_view ValueOf(const Entry& e) const {
    return {arena_.data() + e.value_off, e.value_len};
  }
  const Entry* FindEntry(std::string_view key) const;

  std::string arena_;
  std::vector<Entry> entries_;
  std::string prefix_;  // dotted key being built during Add()
};

}  // namespace router::nats_adapter
