// The metric catalogue (observability.md §2.1, §2.5): one valid definition per family, the same
// names, types, labels and closed value sets as the spec table, the exported subset (OBS O4),
// and the JSON of --print-metrics-catalogue.
#include "obs/metrics/catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace router::obs {
namespace {

std::string Trim(std::string s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

std::vector<std::string> Split(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    parts.push_back(Trim(s.substr(start, pos - start)));
    if (pos == std::string::npos) break;
    start = pos + sep.size();
  }
  return parts;
}

std::vector<std::string> Backticked(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = s.find('`', pos)) != std::string::npos) {
    const size_t end = s.find('`', pos + 1);
    if (end == std::string::npos) break;
    out.push_back(s.substr(pos + 1, end - pos - 1));
    pos = end + 1;
  }
  return out;
}

struct SpecLabel {
  std::string name;
  std::vector<std::string> values;  // from "(`a`, `b`)" when given
};

struct SpecMetric {
  std::string type;    // counter, gauge, histogram
  std::string layout;  // histograms
  std::vector<SpecLabel> labels;
};

// "trigger (`startup`, `admin`), result (`ok`)" -> labels with values; "-" -> none.
std::vector<SpecLabel> ParseLabels(const std::string& cell) {
  std::vector<SpecLabel> labels;
  if (cell == "-") return labels;
  std::string current;
  int depth = 0;
  std::string parens;
  auto flush = [&] {
    SpecLabel label{Trim(current), Backticked(parens)};
    if (!label.name.empty()) labels.push_back(label);
    current.clear();
    parens.clear();
  };
  for (char c : cell) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (depth > 0) {
      parens.push_back(c);
    } else if (c == ',') {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return labels;
}

// Parses the §2.5 table. Shorthand names (`_window_requests`) extend a prefix of the row's first
// name; the prefix that names a catalogue entry is taken.
std::map<std::string, SpecMetric> ParseSpecCatalogue(std::vector<std::string>& errors) {
  std::ifstream in(std::string(ROUTER_SPEC_DIR) + "/observability.md");
  std::map<std::string, SpecMetric> spec;
  if (!in) {
    errors.push_back("cannot read observability.md");
    return spec;
  }
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.starts_with("### 2.5")) in_section = true;
    if (line.starts_with("### 2.6")) break;
    if (!in_section || !line.starts_with("| `")) continue;
    std::vector<std::string> cells = Split(line.substr(1), " | ");
    if (cells.size() < 3) continue;
    const std::vector<std::string> name_groups = Split(cells[0], " / ");
    const std::vector<std::string> type_groups = Split(cells[1], " / ");
    const std::vector<std::string> label_groups = Split(cells[2], " / ");
    const std::string first = Backticked(name_groups[0])[0];
    for (size_t g = 0; g < name_groups.size(); ++g) {
      const std::string& type_cell =
          type_groups.size() == name_groups.size() ? type_groups[g] : type_groups[0];
      const std::string& label_cell =
          label_groups.size() == name_groups.size() ? label_groups[g] : label_groups[0];
      for (const std::string& token : Backticked(name_groups[g])) {
        std::string name = token;
        if (token.starts_with("_")) {
          name.clear();
          for (size_t k = first.find('_'); k != std::string::npos; k = first.find('_', k + 1)) {
            if (FindCatalogueEntry(first.substr(0, k) + token) != nullptr) {
              name = first.substr(0, k) + token;
            }
          }
          if (name.empty()) {
            errors.push_back("no catalogue entry for shorthand " + token + " of " + first);
            continue;
          }
        }
        SpecMetric metric;
        const std::vector<std::string> words = Split(type_cell, " ");
        metric.type = words[0];
        if (words.size() > 1) metric.layout = words[1];
        metric.labels = ParseLabels(label_cell);
        spec[name] = metric;
      }
    }
  }
  return spec;
}

TEST(CatalogueTest, EveryEntryIsValidUniqueAndSorted) {
  const std::vector<MetricDef>& catalogue = Catalogue();
  ASSERT_GT(catalogue.size(), 100u);
  for (size_t i = 0; i < catalogue.size(); ++i) {
    EXPECT_TRUE(ValidateMetricDef(catalogue[i]).ok()) << ValidateMetricDef(catalogue[i]).ToString();
    if (i > 0) {
      EXPECT_LT(catalogue[i - 1].name, catalogue[i].name);
    }
    EXPECT_EQ(FindCatalogueEntry(catalogue[i].name), &catalogue[i]);
  }
  EXPECT_EQ(FindCatalogueEntry("router_no_such_metric"), nullptr);
}

// OBS §2.5: the catalogue is exactly the spec table: names, types, layouts, labels and the value
// sets the table spells out. §3: base units only, no `_ms`.
TEST(CatalogueTest, MatchesTheSpecTable) {
  std::vector<std::string> errors;
  const std::map<std::string, SpecMetric> spec = ParseSpecCatalogue(errors);
  EXPECT_THAT(errors, ::testing::IsEmpty());
  ASSERT_GT(spec.size(), 100u);
  for (const MetricDef& def : Catalogue()) {
    EXPECT_TRUE(spec.contains(std::string(def.name))) << def.name << " is not in OBS §2.5";
    EXPECT_EQ(def.name.find("_ms"), std::string_view::npos) << def.name;
  }
  for (const auto& [name, metric] : spec) {
    const MetricDef* def = FindCatalogueEntry(name);
    if (def == nullptr) {
      ADD_FAILURE() << name << " of OBS §2.5 is missing from the catalogue";
      continue;
    }
    EXPECT_EQ(MetricTypeName(def->type), metric.type) << name;
    EXPECT_EQ(BucketLayoutName(def->buckets), metric.layout) << name;
    ASSERT_EQ(def->labels.size(), metric.labels.size()) << name;
    for (size_t i = 0; i < metric.labels.size(); ++i) {
      EXPECT_EQ(def->labels[i].name, metric.labels[i].name) << name;
      if (metric.labels[i].values.empty()) continue;
      std::set<std::string> want(metric.labels[i].values.begin(), metric.labels[i].values.end());
      std::set<std::string> have(def->labels[i].values.begin(), def->labels[i].values.end());
      EXPECT_EQ(have, want) << name << " label " << metric.labels[i].name;
    }
  }
}

// OBS §2.2: open labels are exactly tenant_id, policy_id, provider_id, extension_id; rule 5:
// histograms carry enum labels only.
TEST(CatalogueTest, LabelClassesFollowTheSpec) {
  for (const MetricDef& def : Catalogue()) {
    for (const LabelDef& label : def.labels) {
      if (label.name == "tenant_id") {
        EXPECT_EQ(label.label_class, LabelClass::kTenant) << def.name;
      } else if (label.name == "policy_id" || label.name == "provider_id" ||
                 label.name == "extension_id") {
        EXPECT_EQ(label.label_class, LabelClass::kOpen) << def.name;
      } else if (label.name == "metric") {
        EXPECT_EQ(label.label_class, LabelClass::kFamilyName) << def.name;
      } else if (def.name == "router_build_info") {
        EXPECT_EQ(label.label_class, LabelClass::kInfo) << def.name;
      } else {
        EXPECT_EQ(label.label_class, LabelClass::kEnum) << def.name << " " << label.name;
      }
    }
    if (def.type == MetricType::kHistogram) {
      EXPECT_TRUE(AllLabelsEnum(def)) << def.name;
    }
  }
}

// OBS O4: only families whose code exists are exported (issue #3 scope item 1).
TEST(CatalogueTest, ExportsOnlyFamiliesInUse) {
  const std::set<std::string> expected = {
      "process_cpu_seconds_total",
      "process_max_fds",
      "process_open_fds",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "process_threads",
      "process_virtual_memory_bytes",
      "router_admin_auth_failures_total",
      "router_admin_request_duration_seconds",
      "router_build_info",
      // rate limits and backpressure (#5)
      "router_backpressure_events_total",
      "router_backpressure_latency_p95_seconds",
      "router_backpressure_recovery_total",
      "router_backpressure_rejections_total",
      "router_backpressure_signal_overloaded",
      "router_backpressure_status",
      "router_rate_limit_allowed_total",
      "router_rate_limit_buckets",
      "router_rate_limit_evictions_total",
      "router_rate_limit_exceeded_total",
      // breakers and statistics (#5)
      "router_circuit_breaker_error_rate",
      "router_circuit_breaker_events_total",
      "router_circuit_breaker_last_transition_timestamp",
      "router_circuit_breaker_manual_operations_total",
      "router_circuit_breaker_state",
      "router_circuit_breaker_state_transitions_total",
      "router_circuit_breaker_timeout_remaining_seconds",
      "router_circuit_breaker_timeout_transitions_total",
      "router_circuit_breaker_trigger_reason_total",
      "router_circuit_breaker_window_failures",
      "router_circuit_breaker_window_requests",
      "router_circuit_breakers",
      "router_provider_cost_ewma",
      "router_provider_latency_ewma_seconds",
      "router_provider_outcomes_total",
      "router_config_reloads_total",
      // idempotency and correlation stores (#4)
      "router_correlation_entries",
      "router_correlation_evictions_total",
      "router_correlation_misses_total",
      "router_idempotency_conflicts_total",
      "router_idempotency_entries",
      "router_idempotency_evictions_total",
      "router_idempotency_hits_total",
      "router_decide_duration_seconds",
      "router_decide_inflight",
      "router_decide_requests_total",
      "router_decisions_total",
      "router_grpc_requests_total",
      "router_http_requests_total",
      "router_log_dropped_total",
      "router_log_records_total",
      "router_log_suppressed_total",
      "router_metrics_scrape_duration_seconds",
      "router_metrics_series",
      "router_metrics_series_overflow_total",
      "router_policy_load_errors_total",
      "router_policy_store_db_bytes",
      "router_policy_store_errors_total",
      "router_policy_store_last_reload_timestamp_seconds",
      "router_policy_store_policies",
      "router_policy_store_reload_duration_seconds",
      "router_policy_store_reloads_total",
      "router_policy_store_tenants",
      "router_policy_store_version",
      "router_provider_selections_total",
      "router_ready",
      "router_ready_check",
      "router_sticky_entries",
      "router_sticky_evictions_total",
      "router_sticky_hits_total",
      "router_sticky_miss_total",
      "router_sticky_repins_total",
      "router_tracing_export_duration_seconds",
      "router_tracing_queue_spans",
      "router_tracing_spans_dropped_total",
      "router_tracing_spans_exported_total",
      // assignment outbox and publisher (#4 item 4)
      "router_assignment_enqueued_total",
      "router_assignment_outbox_capacity",
      "router_assignment_outbox_depth",
      "router_assignment_outbox_oldest_age_seconds",
      "router_assignment_outbox_rejected_total",
      "router_assignment_outcomes_total",
      "router_assignment_publish_failures_total",
      "router_assignment_publish_latency_seconds",
      "router_assignment_published_total",
      "router_assignment_reply_wait_seconds",
      "router_assignment_retry_total",
      // result / ack consumers, usage, DLQ, fan-out (#4 item 5)
      "router_acks_duplicate_total",
      "router_acks_total",
      "router_acks_validation_failed_total",
      "router_assignments_ack_error_total",
      "router_assignments_rejected_total",
      "router_dlq_publish_failed_total",
      "router_dlq_total",
      "router_fanout_invalid_total",
      "router_fanout_outcomes_total",
      "router_jetstream_abandoned_total",
      "router_jetstream_ack_failures_total",
      "router_jetstream_ack_total",
      "router_jetstream_consumer_bound",
      "router_jetstream_deliveries_total",
      "router_jetstream_maxdeliver_exhausted_total",
      "router_jetstream_redelivered_messages_total",
      "router_jetstream_redelivery_total",
      "router_jetstream_term_total",
      "router_nats_contract_violations_total",
      "router_results_duplicate_total",
      "router_results_tenant_rejected_total",
      "router_results_total",
      "router_results_validation_failed_total",
      "router_usage_emit_failed_total",
      "router_usage_emitted_total",
      // intake, connection, streams, consumer info, result latency (#4 runtime items)
      "ctx_missing_headers_total",
      "router_assignment_blocked_total",
      "router_assignment_skipped_total",
      "router_intake_dlq_dropped_total",
      "router_intake_payload_bytes",
      "router_intake_trace_id_nonconforming_total",
      "router_intake_validation_errors_total",
      "router_jetstream_consumer_ack_pending",
      "router_jetstream_consumer_pending",
      "router_jetstream_stream_config_drift",
      "router_jetstream_stream_ensure_total",
      "router_nats_connect_failures_total",
      "router_nats_connection_established_total",
      "router_nats_connection_lost_total",
      "router_nats_connection_status",
      "router_nats_reconnect_attempts_total",
      "router_nats_reply_failures_total",
      "router_nats_slow_consumer_total",
      "router_result_latency_seconds",
  };
  std::set<std::string> exported;
  for (const MetricDef& def : Catalogue()) {
    if (def.exported) exported.emplace(def.name);
  }
  EXPECT_EQ(exported, expected);
}

TEST(CatalogueTest, JsonDescribesEveryFamily) {
  const std::string json = CatalogueJson();
  EXPECT_TRUE(json.starts_with("{\"metrics\":[\n"));
  EXPECT_TRUE(json.ends_with("\n]}\n"));
  EXPECT_THAT(json, ::testing::HasSubstr(
                        "{\"name\":\"router_decide_inflight\",\"type\":\"gauge\",\"help\":"
                        "\"Decides being processed.\",\"labels\":[{\"name\":\"transport\","
                        "\"class\":\"enum\",\"values\":[\"grpc\",\"nats\"]}],\"buckets\":null,"
                        "\"exported\":true}"));
  EXPECT_THAT(json, ::testing::HasSubstr(
                        "\"name\":\"router_assignment_publish_latency_seconds\",\"type\":"
                        "\"histogram\",\"help\":\"Decision to PubAck, retries included.\","
                        "\"labels\":[],\"buckets\":{\"layout\":\"io\",\"bounds\":[1e-04,"));
  EXPECT_THAT(json, ::testing::HasSubstr("{\"name\":\"tenant_id\",\"class\":\"tenant\"}"));
  EXPECT_EQ(static_cast<size_t>(std::count(json.begin(), json.end(), '\n')),
            Catalogue().size() + 2);  // opening line, one per metric, closing line
  // A second, independent parser (Python's json module) accepts it.
  const std::string path = ::testing::TempDir() + "/catalogue.json";
  std::ofstream(path) << json;
  FILE* pipe = popen(("/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); "
                      "print(len(d[\"metrics\"]))' < " +
                      path + " 2>&1")
                         .c_str(),
                     "r");
  ASSERT_NE(pipe, nullptr);
  char buf[256] = {};
  const size_t n = fread(buf, 1, sizeof(buf) - 1, pipe);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << std::string(buf, n);
  EXPECT_EQ(std::string(buf, n), std::to_string(Catalogue().size()) + "\n");
}

}  // namespace
}  // namespace router::obs
