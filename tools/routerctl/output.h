#pragma once
// Shared human/JSON rendering helpers of beamline-routerctl (docs/ROUTERCTL.md "Output").
// Human output is "name: value" lines (stable names = proto field names) or aligned tables;
// JSON output is one object per call on one line. Free functions; thread-compatible.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "beamline/flow/v1/flow.pb.h"
#include "proto_json.h"

namespace router::routerctl {

// Writes the object produced by `body` followed by a newline to stdout.
void EmitJson(const std::function<void(JsonWriter&)>& body);

// "key: value" line (no trailing space when value is empty).
void PrintField(const std::string& key, const std::string& value, std::ostream& out);

// Left-aligned columns separated by two spaces; the last column is not padded. Empty cells "-".
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, std::ostream& out);

// provider_id, reason, priority, expected_latency_ms, expected_cost, policy_version,
// decision_id, then "metadata.<key>: <value>" (sorted), then the explanation when present.
void PrintDecision(const beamline::flow::v1::RouteDecision& decision, std::ostream& out);

// "explanation.step: <text>" per step, "explanation.excluded: <provider>=<reason>" per exclusion.
void PrintExplanation(const beamline::flow::v1::Explanation& explanation, std::ostream& out);

// Reads a whole file ("-" = standard input).
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace router::routerctl
