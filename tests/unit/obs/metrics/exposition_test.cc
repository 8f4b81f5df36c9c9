// Text exposition format 0.0.4 (observability.md §3): number formatting, escaping, ordering,
// histogram invariants, golden output.
#include "obs/metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "obs/metrics/registry.h"

namespace router::obs {
namespace {

std::string Double(double v) {
  std::string out;
  AppendDouble(out, v);
  return out;
}

// OBS §3: shortest round-trip doubles, integers without exponent or decimals, special values.
TEST(ExpositionTest, FormatsNumbers) {
  EXPECT_EQ(Double(0), "0");
  EXPECT_EQ(Double(-0.0), "0");
  EXPECT_EQ(Double(1), "1");
  EXPECT_EQ(Double(-2), "-2");
  EXPECT_EQ(Double(1.5), "1.5");
  EXPECT_EQ(Double(0.1), "0.1");
  EXPECT_EQ(Double(0.00001), "1e-05");
  EXPECT_EQ(Double(0.000025), "2.5e-05");
  EXPECT_EQ(Double(1048576), "1048576");
  EXPECT_EQ(Double(1e18), "1000000000000000000");
  EXPECT_EQ(Double(1e300), "1e+300");
  EXPECT_EQ(Double(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(Double(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Double(std::nan("")), "NaN");
  std::string out;
  AppendUint(out, 18446744073709551615ull);
  EXPECT_EQ(out, "18446744073709551615");
}

// OBS §3: HELP escapes `\` and newline; label values escape `\`, `"` and newline.
TEST(ExpositionTest, EscapesHelpAndLabelValues) {
  std::string help;
  AppendEscapedHelp(help, "a\\b\nc\"d");
  EXPECT_EQ(help, "a\\\\b\\nc\"d");
  std::string value;
  AppendEscapedLabelValue(value, "a\\b\nc\"d");
  EXPECT_EQ(value, "a\\\\b\\nc\\\"d");
}

TEST(ExpositionTest, LeTextsUseShortestForm) {
  const std::vector<std::string> texts = LeTexts(BucketBounds(BucketLayout::kFast));
  ASSERT_EQ(texts.size(), 20u);
  EXPECT_EQ(texts.front(), "le=\"1e-05\"} ");
  EXPECT_EQ(texts[9], "le=\"0.01\"} ");
  EXPECT_EQ(texts[18], "le=\"10\"} ");
  EXPECT_EQ(texts.back(), "le=\"+Inf\"} ");
}

constexpr std::string_view kColors[] = {"red", "blue"};
constexpr std::string_view kKinds[] = {"b", "a"};

class ExpositionGoldenTest : public ::testing::Test {
 protected:
  RegistryOptions Options() {
    RegistryOptions options;
    options.stripes = 4;
    return options;
  }
  Registry registry_{Options()};
};

// OBS §3: families sorted by name, series by label values, HELP/TYPE once, cumulative buckets,
// +Inf == _count, no timestamps, trailing newline.
TEST_F(ExpositionGoldenTest, RendersExactText) {
  auto* requests = *registry_.AddCounter({"test_requests_total",
                                          MetricType::kCounter,
                                          "Requests.\nSecond \\ line.",
                                          {{"color", LabelClass::kEnum, kColors}}});
  auto* temperature = *registry_.AddGauge(
      {"test_temperature", MetricType::kGauge, "Temp.", {{"room", LabelClass::kOpen, {}}}});
  auto* sizes = *registry_.AddHistogram(
      {"test_size_bytes", MetricType::kHistogram, "Sizes.", {}, BucketLayout::kBytes});
  auto* info = *registry_.AddGauge(
      {"test_info", MetricType::kGauge, "Build.", {{"version", LabelClass::kInfo, {}}}});

  requests->Get({"red"}).Inc(3);
  requests->Get({"blue"}).Inc();
  temperature->Get({"kitchen"}).Set(21.5);
  temperature->Get({"attic"}).Set(-3);
  sizes->Get().Observe(100);
  sizes->Get().Observe(64);
  sizes->Get().Observe(5000000);
  info->Get({"a\"b\\c\nd"}).Set(1);

  EXPECT_EQ(registry_.Render(),
            "# HELP test_info Build.\n"
            "# TYPE test_info gauge\n"
            "test_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP test_requests_total Requests.\\nSecond \\\\ line.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{color=\"blue\"} 1\n"
            "test_requests_total{color=\"red\"} 3\n"
            "# HELP test_size_bytes Sizes.\n"
            "# TYPE test_size_bytes histogram\n"
            "test_size_bytes_bucket{le=\"64\"} 1\n"
            "test_size_bytes_bucket{le=\"256\"} 2\n"
            "test_size_bytes_bucket{le=\"1024\"} 2\n"
            "test_size_bytes_bucket{le=\"4096\"} 2\n"
            "test_size_bytes_bucket{le=\"16384\"} 2\n"
            "test_size_bytes_bucket{le=\"65536\"} 2\n"
            "test_size_bytes_bucket{le=\"262144\"} 2\n"
            "test_size_bytes_bucket{le=\"1048576\"} 2\n"
            "test_size_bytes_bucket{le=\"4194304\"} 2\n"
            "test_size_bytes_bucket{le=\"+Inf\"} 3\n"
            "test_size_bytes_sum 5000164\n"
            "test_size_bytes_count 3\n"
            "# HELP test_temperature Temp.\n"
            "# TYPE test_temperature gauge\n"
            "test_temperature{room=\"attic\"} -3\n"
            "test_temperature{room=\"kitchen\"} 21.5\n");
}

// OBS §3: the `le` label follows the family labels; a family without series keeps HELP/TYPE.
TEST_F(ExpositionGoldenTest, HistogramWithLabelsAndEmptyFamily) {
  auto* latency = *registry_.AddHistogram({"test_latency_seconds",
                                           MetricType::kHistogram,
                                           "Latency.",
                                           {{"kind", LabelClass::kEnum, kKinds}},
                                           BucketLayout::kProvider});
  ASSERT_TRUE(registry_
                  .AddCounter({"test_empty_total",
                               MetricType::kCounter,
                               "Nothing yet.",
                               {{"tenant_id", LabelClass::kTenant, {}}}})
                  .ok());
  latency->Get({"a"}).Observe(0.3);
  const std::string text = registry_.Render();
  EXPECT_NE(text.find("# HELP test_empty_total Nothing yet.\n# TYPE test_empty_total counter\n"
                      "# HELP test_latency_seconds"),
            std::string::npos);
  EXPECT_NE(text.find("test_latency_seconds_bucket{kind=\"a\",le=\"0.25\"} 0\n"
                      "test_latency_seconds_bucket{kind=\"a\",le=\"0.5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("test_latency_seconds_sum{kind=\"a\"} 0.3\n"
                      "test_latency_seconds_count{kind=\"a\"} 1\n"),
            std::string::npos);
  // Series sorted by label value: a before b, although b is first in the set.
  EXPECT_LT(text.find("kind=\"a\""), text.find("kind=\"b\""));
  EXPECT_EQ(text.back(), '\n');
}

// OBS §3: buckets ascending and cumulative, +Inf equals _count; NaN counts in +Inf.
TEST_F(ExpositionGoldenTest, HistogramInvariants) {
  auto* latency = *registry_.AddHistogram(
      {"test_latency_seconds", MetricType::kHistogram, "Latency.", {}, BucketLayout::kFast});
  const Histogram& h = latency->Get();
  const double samples[] = {0, 0.000001, 0.00001, 0.00002, 0.003, 0.003, 0.7, 9.99, 10, 11, 1e9};
  for (double s : samples) h.Observe(s);
  h.Observe(std::nan(""));
  const std::string text = registry_.Render();
  std::istringstream lines(text);
  std::string line;
  uint64_t previous = 0;
  uint64_t inf = 0;
  uint64_t count = 0;
  int buckets = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("test_latency_seconds_bucket")) {
      const uint64_t value = std::stoull(line.substr(line.rfind(' ') + 1));
      EXPECT_GE(value, previous) << line;
      previous = value;
      ++buckets;
      if (line.find("le=\"+Inf\"") != std::string::npos) inf = value;
    } else if (line.starts_with("test_latency_seconds_count")) {
      count = std::stoull(line.substr(line.rfind(' ') + 1));
    }
  }
  EXPECT_EQ(buckets, 20);
  EXPECT_EQ(inf, count);
  EXPECT_EQ(count, 12u);
  EXPECT_NE(text.find("test_latency_seconds_bucket{le=\"1e-05\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_seconds_bucket{le=\"10\"} 9\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_seconds_sum NaN\n"), std::string::npos);
}

// OBS §3: "render into a reused buffer"; no timestamps (each sample line has two fields).
TEST_F(ExpositionGoldenTest, RendersIntoReusedBufferWithoutTimestamps) {
  auto* requests = *registry_.AddCounter(
      {"test_requests_total", MetricType::kCounter, "R.", {{"color", LabelClass::kEnum, kColors}}});
  requests->Get({"red"}).Inc();
  std::string buffer = "stale content that must disappear";
  registry_.Render(buffer);
  const std::string first = buffer;
  registry_.Render(buffer);
  EXPECT_EQ(buffer, first);
  EXPECT_EQ(buffer.find("stale"), std::string::npos);
  std::istringstream lines(buffer);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

}  // namespace
}  // namespace router::obs
