#include "output.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/status/status.h"

namespace router::routerctl {

void EmitJson(const std::function<void(JsonWriter&)>& body) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  body(writer);
  std::cout << std::string(buffer.GetString(), buffer.GetSize()) << "\n";
}

void PrintField(const std::string& key, const std::string& value, std::ostream& out) {
  out << key << ":" << (value.empty() ? "" : " ") << value << "\n";
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths(header.size(), 0);
  auto cell = [](const std::vector<std::string>& row, size_t i) -> std::string {
    return i < row.size() && !row[i].empty() ? row[i] : "-";
  };
  for (size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
    for (const auto& row : rows) widths[i] = std::max(widths[i], cell(row, i).size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < header.size(); ++i) {
      std::string text = cell(row, i);
      if (i + 1 < header.size()) text.resize(widths[i] + 2, ' ');
      line += text;
    }
    out << line << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

void PrintExplanation(const beamline::flow::v1::Explanation& explanation, std::ostream& out) {
  for (const std::string& step : explanation.steps()) PrintField("explanation.step", step, out);
  for (const auto& excluded : explanation.excluded_providers()) {
    PrintField("explanation.excluded", excluded.provider_id() + "=" + excluded.reason(), out);
  }
}

void PrintDecision(const beamline::flow::v1::RouteDecision& decision, std::ostream& out) {
  PrintField("provider_id", decision.provider_id(), out);
  PrintField("reason", decision.reason(), out);
  PrintField("priority", std::to_string(decision.priority()), out);
  PrintField("expected_latency_ms", std::to_string(decision.expected_latency_ms()), out);
  PrintField("expected_cost", FormatDouble(decision.expected_cost()), out);
  PrintField("policy_version", std::to_string(decision.policy_version()), out);
  PrintField("decision_id", decision.decision_id(), out);
  std::vector<std::pair<std::string, std::string>> metadata(decision.metadata().begin(),
                                                            decision.metadata().end());
  std::sort(metadata.begin(), metadata.end());
  for (const auto& [key, value] : metadata) PrintField("metadata." + key, value, out);
  if (decision.has_explanation()) PrintExplanation(decision.explanation(), out);
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read file \"" + path + "\"");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError("cannot read file \"" + path + "\"");
  return content.str();
}

}  // namespace router::routerctl
