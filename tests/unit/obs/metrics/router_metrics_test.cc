// RouterMetrics (observability.md §2.1, §2.5, §3): built from the catalogue, exports exactly the
// families in use, process and build metrics, and an exposition promtool accepts.
#include "obs/metrics/router_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "obs/metrics/catalogue.h"
#include "support/fake_clock.h"

namespace router::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<RouterMetrics> Make(MetricsOptions options = {}) {
  auto metrics = RouterMetrics::Create(std::move(options));
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return std::move(*metrics);
}

// Label values for one series of `def`: the first enum value, or a plausible open value.
std::vector<std::string> SampleValues(const MetricDef& def) {
  std::vector<std::string> values;
  for (const LabelDef& label : def.labels) {
    if (label.label_class == LabelClass::kEnum) {
      values.emplace_back(label.values.front());
    } else if (label.label_class == LabelClass::kFamilyName) {
      values.emplace_back("router_decisions_total");
    } else {
      values.push_back("sample-" + std::string(label.name));
    }
  }
  return values;
}

// Records one observation in one series of every registered family.
void RecordEveryFamily(RouterMetrics& metrics) {
  for (const MetricDef& def : Catalogue()) {
    Family* family = metrics.registry->Find(def.name);
    if (family == nullptr) continue;
    const std::vector<std::string> owned = SampleValues(def);
    const std::vector<std::string_view> values(owned.begin(), owned.end());
    if (auto* counter = dynamic_cast<CounterFamily*>(family)) {
      counter->Get(values).Inc();
    } else if (auto* gauge = dynamic_cast<GaugeFamily*>(family)) {
      gauge->Get(values).Set(2.5);
    } else if (auto* histogram = dynamic_cast<HistogramFamily*>(family)) {
      histogram->Get(values).Observe(0.003);
    }
  }
}

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult RunWithStdin(const std::string& command, const std::string& input) {
  const std::string path = ::testing::TempDir() + "/router_metrics_input.txt";
  std::ofstream(path) << input;
  CommandResult result;
  FILE* pipe = popen((command + " < " + path + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  result.status = pclose(pipe);
  return result;
}

// OBS O4: exactly the catalogue entries marked exported are registered.
TEST(RouterMetricsTest, RegistersExactlyTheExportedFamilies) {
  auto metrics = Make();
  std::vector<std::string> expected;
  for (const MetricDef& def : Catalogue()) {
    if (def.exported) expected.emplace_back(def.name);
  }
  EXPECT_EQ(metrics->registry->FamilyNames(), expected);
  const std::string text = metrics->Render();
  // Families still marked kLater (the extension families) are not rendered.
  EXPECT_THAT(text, Not(HasSubstr("router_extension_")));
}

TEST(RouterMetricsTest, EveryTypedFamilyIsSet) {
  auto metrics = Make();
  const std::vector<const Family*> families = {metrics->decide_requests,
                                               metrics->decide_duration,
                                               metrics->decide_inflight,
                                               metrics->decisions,
                                               metrics->provider_selections,
                                               metrics->sticky_hits,
                                               metrics->sticky_misses,
                                               metrics->sticky_repins,
                                               metrics->sticky_entries,
                                               metrics->sticky_evictions,
                                               metrics->grpc_requests,
                                               metrics->admin_request_duration,
                                               metrics->admin_auth_failures,
                                               metrics->http_requests,
                                               metrics->ready,
                                               metrics->ready_check,
                                               metrics->config_reloads,
                                               metrics->policy_store_policies,
                                               metrics->policy_store_tenants,
                                               metrics->policy_store_version,
                                               metrics->policy_store_reloads,
                                               metrics->policy_store_reload_duration,
                                               metrics->policy_store_last_reload_timestamp,
                                               metrics->policy_store_db_bytes,
                                               metrics->policy_store_errors,
                                               metrics->policy_load_errors,
                                               metrics->metrics_series,
                                               metrics->metrics_series_overflow,
                                               metrics->metrics_scrape_duration,
                                               metrics->log_records,
                                               metrics->log_suppressed,
                                               metrics->log_dropped,
                                               metrics->tracing_spans_exported,
                                               metrics->tracing_spans_dropped,
                                               metrics->tracing_export_duration,
                                               metrics->tracing_queue_spans,
                                               metrics->build_info};
  for (const Family* family : families) ASSERT_NE(family, nullptr);
  EXPECT_EQ(metrics->decide_requests->name(), "router_decide_requests_total");
  EXPECT_EQ(metrics->sticky_misses->name(), "router_sticky_miss_total");
  EXPECT_EQ(metrics->policy_store_last_reload_timestamp->name(),
            "router_policy_store_last_reload_timestamp_seconds");
}

// OBS §2.1 pre-initialisation of the decide counters and gRPC counters (methods of their
// service only).
TEST(RouterMetricsTest, EnumFamiliesStartAtZero) {
  auto metrics = Make();
  const std::string text = metrics->Render();
  EXPECT_THAT(text, HasSubstr("router_decide_requests_total{transport=\"nats\",outcome="
                              "\"assignment_not_persisted\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("router_decide_duration_seconds_count{transport=\"grpc\","
                              "outcome=\"ok\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("router_grpc_requests_total{service=\"RouterAdmin\",method="
                              "\"UpsertPolicy\",code=\"PERMISSION_DENIED\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("service=\"Health\",method=\"Decide\"")));
  EXPECT_EQ(metrics->grpc_requests->SeriesCount(), 15u * 17u);  // 15 methods of 4 services
  EXPECT_THAT(text, HasSubstr("router_metrics_series_overflow_total{metric="
                              "\"router_decisions_total\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("router_metrics_series{metric=\"router_grpc_requests_total\"} 255\n"));
}

TEST(RouterMetricsTest, HotPathHelpersRecord) {
  auto metrics = Make();
  metrics->decide_requests->Get({"grpc", "ok"}).Inc();
  metrics->decide_duration->Get({"grpc", "ok"}).Observe(0.0004);
  metrics->decide_inflight->Get({"grpc"}).Inc();
  metrics->decisions->Get({"acme", "checkout", "weighted"}).Inc();
  metrics->provider_selections->Get({"acme", "openai", "weighted"}).Inc();
  metrics->sticky_misses->Get({"acme"}).Inc();
  metrics->grpc_requests->Get({"Router", "Decide", "OK"}).Inc();
  metrics->ready->Get().Set(1);
  metrics->policy_store_policies->Get().Set(12);
  const std::string text = metrics->Render();
  EXPECT_THAT(text,
              HasSubstr("router_decide_requests_total{transport=\"grpc\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_decide_duration_seconds_bucket{transport=\"grpc\",outcome="
                              "\"ok\",le=\"5e-04\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"acme\",policy_id=\"checkout\","
                              "reason=\"weighted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_provider_selections_total{tenant_id=\"acme\",provider_id="
                              "\"openai\",reason=\"weighted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_sticky_miss_total{tenant_id=\"acme\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_grpc_requests_total{service=\"Router\",method=\"Decide\","
                              "code=\"OK\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrouter_ready 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrouter_policy_store_policies 12\n"));
}

TEST(RouterMetricsTest, OptionsReachTheRegistry) {
  testing::FakeClock clock;
  std::vector<std::string> overflows;
  MetricsOptions options;
  options.max_series_per_metric = 1;
  options.tenant_labels = TenantLabelMode::kAllowlist;
  options.tenant_label_allowlist = {"gold", "silver"};
  options.clock = &clock;
  options.on_cardinality_overflow = [&](std::string_view m) { overflows.emplace_back(m); };
  auto metrics = Make(options);
  metrics->sticky_hits->Get({"gold"}).Inc();
  metrics->sticky_hits->Get({"silver"}).Inc();  // over the cap of 1: overflow series
  metrics->sticky_hits->Get({"bronze"}).Inc();  // not allowlisted: `other`, not an overflow
  const std::string text = metrics->Render();
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"gold\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"other\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("router_metrics_series_overflow_total{metric="
                              "\"router_sticky_hits_total\"} 1\n"));
  EXPECT_EQ(overflows, std::vector<std::string>{"router_sticky_hits_total"});
}

TEST(RouterMetricsTest, BuildInfoIsOne) {
  MetricsOptions options;
  options.build_info = {"0.1.0", "abc123", "release", "gcc 12.2.0"};
  auto metrics = Make(options);
  EXPECT_THAT(metrics->Render(),
              HasSubstr("router_build_info{version=\"0.1.0\",revision=\"abc123\",build_type="
                        "\"release\",compiler=\"gcc 12.2.0\"} 1\n"));
  EXPECT_THAT(BuildInfo().compiler, ::testing::StartsWith("gcc "));
}

// OBS §2.5 PROC: read from /proc/self at scrape; absent with process_metrics = false.
TEST(RouterMetricsTest, ProcessMetricsAtScrape) {
  auto metrics = Make();
  const std::string text = metrics->Render();
  for (const char* name : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_threads",
                           "process_start_time_seconds", "process_cpu_seconds_total"}) {
    const size_t pos = text.find(std::string("\n") + name + " ");
    ASSERT_NE(pos, std::string::npos) << name;
    const double value = std::stod(text.substr(pos + std::string(name).size() + 2));
    EXPECT_GE(value, 0) << name;
    if (std::string_view(name) != "process_cpu_seconds_total") {
      EXPECT_GT(value, 0) << name;
    }
  }
  MetricsOptions options;
  options.process_metrics = false;
  EXPECT_THAT(Make(options)->Render(), Not(HasSubstr("process_")));
}

TEST(RouterMetricsTest, ScrapeDurationIsRecorded) {
  auto metrics = Make();
  metrics->Render();
  EXPECT_THAT(metrics->Render(), HasSubstr("router_metrics_scrape_duration_seconds_count 1\n"));
}

// OBS §3: `promtool check metrics` exits 0 on the output, with one series in every exported
// family (and without lint warnings).
TEST(RouterMetricsTest, PromtoolAcceptsTheExposition) {
  if (FILE* f = fopen("/usr/bin/promtool", "r")) {
    fclose(f);
  } else {
    GTEST_SKIP() << "promtool not installed";
  }
  auto metrics = Make();
  RecordEveryFamily(*metrics);
  metrics->Render();  // so the scrape histogram has a sample too
  const std::string text = metrics->Render();
  for (const std::string& name : metrics->registry->FamilyNames()) {
    const Family* family = metrics->registry->Find(name);
    EXPECT_GT(family->SeriesCount(), 0u) << name;
  }
  const CommandResult result = RunWithStdin("/usr/bin/promtool check metrics", text);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "") << "promtool lint warnings";
}

}  // namespace
}  // namespace router::obs
