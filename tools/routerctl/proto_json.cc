#include "proto_json.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"

namespace router::routerctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Renders a scalar (non-message) field value as text; `index` < 0 reads a singular field.
std::string ScalarText(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(rep ? r->GetRepeatedInt32(message, field, index)
                                : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(message, field, index)
                                : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(rep ? r->GetRepeatedUInt32(message, field, index)
                                : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(rep ? r->GetRepeatedUInt64(message, field, index)
                                : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return FormatDouble(rep ? r->GetRepeatedDouble(message, field, index)
                              : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return FormatDouble(rep ? r->GetRepeatedFloat(message, field, index)
                              : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(message, field, index) : r->GetEnum(message, field))->name();
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value =
          rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES) return absl::Base64Escape(value);
      return value;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

void WriteScalarJson(const Message& message, const FieldDescriptor* field, int index,
                     JsonWriter& writer) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      writer.Int(rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      writer.Int64(rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      writer.Uint(rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      writer.Uint64(rep ? r->GetRepeatedUInt64(message, field, index)
                        : r->GetUInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double value =
          field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
              ? (rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field))
              : (rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field));
      if (std::isfinite(value)) {
        writer.Double(value);
      } else {
        writer.Null();
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      writer.Bool(rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field));
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
    case FieldDescriptor::CPPTYPE_STRING:
      WriteJsonString(ScalarText(message, field, index), writer);
      return;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteMessageJson(
          rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field),
          writer);
      return;
  }
}

// Map entries of a map field as (key text, entry message), sorted by key.
std::vector<std::pair<std::string, const Message*>> SortedMapEntries(const Message& message,
                                                                     const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  std::vector<std::pair<std::string, const Message*>> entries;
  for (int i = 0; i < r->FieldSize(message, field); ++i) {
    const Message& entry = r->GetRepeatedMessage(message, field, i);
    const FieldDescriptor* key_field = entry.GetDescriptor()->map_key();
    entries.emplace_back(ScalarText(entry, key_field, -1), &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return entries;
}

}  // namespace

void WriteJsonString(const std::string& value, JsonWriter& writer) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  // Integral values keep a fraction, like the policy documents and RapidJSON do ("1.0", not "1").
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

void WriteMessageJson(const Message& message, JsonWriter& writer) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  writer.StartObject();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    WriteJsonString(field->name(), writer);
    if (field->is_map()) {
      writer.StartObject();
      for (const auto& [key, entry] : SortedMapEntries(message, field)) {
        WriteJsonString(key, writer);
        WriteScalarJson(*entry, entry->GetDescriptor()->map_value(), -1, writer);
      }
      writer.EndObject();
    } else if (field->is_repeated()) {
      writer.StartArray();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        WriteScalarJson(message, field, j, writer);
      }
      writer.EndArray();
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !r->HasField(message, field)) {
      writer.Null();
    } else {
      WriteScalarJson(message, field, -1, writer);
    }
  }
  writer.EndObject();
}

namespace {

void PrintLine(const std::string& name, const std::string& value, std::ostream& out) {
  out << name << ":" << (value.empty() ? "" : " ") << value << "\n";
}

}  // namespace

void PrintMessageText(const Message& message, const std::string& prefix, std::ostream& out) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string name = prefix + field->name();
    if (field->is_map()) {
      for (const auto& [key, entry] : SortedMapEntries(message, field)) {
        PrintLine(name + "." + key, ScalarText(*entry, entry->GetDescriptor()->map_value(), -1),
                  out);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int j = 0; j < r->FieldSize(message, field); ++j) {
          PrintMessageText(r->GetRepeatedMessage(message, field, j),
                           name + "[" + std::to_string(j) + "].", out);
        }
      } else if (r->HasField(message, field)) {
        PrintMessageText(r->GetMessage(message, field), name + ".", out);
      }
    } else if (field->is_repeated()) {
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        PrintLine(name, ScalarText(message, field, j), out);
      }
    } else {
      PrintLine(name, ScalarText(message, field, -1), out);
    }
  }
}

}  // namespace router::routerctl
