#include "obs/tracing/span.h"

#include <algorithm>
#include <utility>

#include "obs/tracing/tracer.h"

namespace router::obs {

Span::~Span() { End(); }

Span::Span(Span&& other) noexcept
    : tracer_(other.tracer_),
      record_(std::exchange(other.record_, nullptr)),
      index_(other.index_),
      context_(std::move(other.context_)) {}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    tracer_ = other.tracer_;
    record_ = std::exchange(other.record_, nullptr);
    index_ = other.index_;
    context_ = std::move(other.context_);
  }
  return *this;
}

SpanAttribute* Span::Slot(std::string_view key) {
  SpanRecord& r = *record_;
  for (uint16_t i = 0; i < r.attribute_count; ++i) {
    if (r.View(r.attributes[i].key) == key) return &r.attributes[i];
  }
  if (r.attribute_count == kMaxSpanAttributes) return nullptr;
  SpanAttribute& slot = r.attributes[r.attribute_count];
  if (!r.Store(key, slot.key)) return nullptr;
  ++r.attribute_count;
  return &slot;
}

void Span::SetAttribute(std::string_view key, std::string_view value) {
  if (record_ == nullptr) return;
  SpanRecord& r = *record_;
  // Reserve room for the value before a new key takes arena space, so a value that cannot fit
  // leaves no half-written attribute behind.
  bool known = std::any_of(r.attributes, r.attributes + r.attribute_count,
                           [&](const SpanAttribute& a) { return r.View(a.key) == key; });
  size_t needed = value.size() + (known ? 0 : key.size());
  if (needed > kSpanArenaBytes - r.arena_used) {
    ++r.dropped_attributes;
    return;
  }
  SpanAttribute* slot = Slot(key);
  if (slot == nullptr) {
    ++r.dropped_attributes;
    return;
  }
  slot->type = SpanAttribute::Type::kString;
  ArenaRef ref{};
  r.Store(value, ref);  // fits: checked above
  slot->string_value = ref;
}

void Span::SetAttribute(std::string_view key, bool value) {
  if (record_ == nullptr) return;
  SpanAttribute* slot = Slot(key);
  if (slot == nullptr) {
    ++record_->dropped_attributes;
    return;
  }
  slot->type = SpanAttribute::Type::kBool;
  slot->bool_value = value;
}

void Span::SetAttribute(std::string_view key, double value) {
  if (record_ == nullptr) return;
  SpanAttribute* slot = Slot(key);
  if (slot == nullptr) {
    ++record_->dropped_attributes;
    return;
  }
  slot->type = SpanAttribute::Type::kDouble;
  slot->double_value = value;
}

void Span::SetIntAttribute(std::string_view key, int64_t value) {
  if (record_ == nullptr) return;
  SpanAttribute* slot = Slot(key);
  if (slot == nullptr) {
    ++record_->dropped_attributes;
    return;
  }
  slot->type = SpanAttribute::Type::kInt;
  slot->int_value = value;
}

void Span::SetStatus(SpanStatusCode code, std::string_view message) {
  if (record_ == nullptr) return;
  SpanRecord& r = *record_;
  r.status = code;
  r.status_message = {};
  if (code != SpanStatusCode::kError || message.empty()) return;
  size_t room = kSpanArenaBytes - r.arena_used;
  r.Store(message.substr(0, std::min(room, message.size())), r.status_message);
}

void Span::End() {
  if (record_ == nullptr) return;
  End(tracer_->Now());
}

void Span::End(MonoTime end_time) {
  if (record_ == nullptr) return;
  record_->end_unix_nano = tracer_->UnixNanos(end_time);
  record_ = nullptr;  // the record belongs to the export queue from here on
  tracer_->FinishSpan(index_);
}

}  // namespace router::obs
