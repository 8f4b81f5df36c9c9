#pragma once
// Generic protobuf -> JSON and protobuf -> "name: value" text rendering for beamline-routerctl
// (docs/ROUTERCTL.md, "Output"). Uses reflection, so every field of every message is shown,
// defaults included, under its proto field name. JSON rules: 64-bit integers are JSON numbers,
// non-finite doubles are null, an unset sub-message is null, maps are objects with sorted keys,
// bytes are base64. Stateless free functions; safe to call from any thread.

#include <google/protobuf/message.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ostream>
#include <string>

namespace router::routerctl {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes `message` as one JSON object.
void WriteMessageJson(const google::protobuf::Message& message, JsonWriter& writer);

// Writes a std::string as a JSON string (RapidJSON takes a pointer and a length).
void WriteJsonString(const std::string& value, JsonWriter& writer);

// Shortest text that reads back as the same double, integral values with ".0" ("0.7", "1.0",
// "0.002", "1e+21"); "nan", "inf", "-inf" for non-finite values.
std::string FormatDouble(double value);

// Prints every field of `message` as "<prefix><name>: <value>" lines in field-number order
// (an empty value leaves "<name>:"). Map entries become "<prefix><name>.<key>: <value>" (sorted
// keys), repeated scalars one "<prefix><name>: <value>" line each, sub-messages
// "<prefix><name>.<field>: ..." and repeated sub-messages "<prefix><name>[<i>].<field>: ...".
void PrintMessageText(const google::protobuf::Message& message, const std::string& prefix,
                      std::ostream& out);

}  // namespace router::routerctl
