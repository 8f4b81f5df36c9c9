#include "obs/metrics/exposition.h"

#include <array>
#include <charconv>
#include <cmath>
#include <functional>
#include <memory>

namespace router::obs {
namespace {

constexpr size_t kMaxBuckets = 32;
constexpr double kTwoPow63 = 9223372036854775808.0;

}  // namespace

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (v == std::trunc(v) && std::fabs(v) < kTwoPow63) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    out.append(buf, end);
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
  out.append(buf, end);
}

void AppendEscapedHelp(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

std::string LabelText(std::span<const std::string_view> names,
                      std::span<const std::string> values) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i > 0) text.push_back(',');
    text.append(names[i]);
    text.append("=\"");
    AppendEscapedLabelValue(text, values[i]);
    text.push_back('"');
  }
  return text;
}

std::vector<std::string> LeTexts(std::span<const double> bounds) {
  std::vector<std::string> texts;
  texts.reserve(bounds.size() + 1);
  for (double bound : bounds) {
    std::string text = "le=\"";
    AppendDouble(text, bound);
    text.append("\"} ");
    texts.push_back(std::move(text));
  }
  texts.push_back("le=\"+Inf\"} ");
  return texts;
}

void AppendSeriesSamples(std::string& out, const detail::Series& series,
                         std::span<const std::string> le_text) {
  switch (series.type()) {
    case MetricType::kCounter:
    case MetricType::kGauge: {
      out.append(series.sample_prefix);
      if (series.has_callback()) {
        std::shared_ptr<const std::function<double()>> callback = series.callback();
        AppendDouble(out, callback ? (*callback)() : 0.0);
      } else if (series.type() == MetricType::kCounter) {
        AppendUint(out, series.CounterValue());
      } else {
        AppendDouble(out, series.GaugeValue());
      }
      out.push_back('\n');
      return;
    }
    case MetricType::kHistogram: {
      std::array<uint64_t, kMaxBuckets> buckets{};
      const size_t n = series.bounds().size() + 1;
      if (n > kMaxBuckets || le_text.size() != n) return;
      const double sum = series.HistogramValues(std::span<uint64_t>(buckets.data(), n));
      uint64_t cumulative = 0;
      for (size_t b = 0; b < n; ++b) {
        cumulative += buckets[b];
        out.append(series.sample_prefix);
        out.append(le_text[b]);
        AppendUint(out, cumulative);
        out.push_back('\n');
      }
      out.append(series.sum_prefix);
      AppendDouble(out, sum);
      out.push_back('\n');
      out.append(series.count_prefix);
      AppendUint(out, cumulative);  // == le="+Inf" by construction (OBS §3)
      out.push_back('\n');
      return;
    }
  }
}

}  // namespace router::obs
