#pragma once
// Test helpers for the config unit: a scratch directory and a LoadConfig wrapper that never
// reads the real environment. Thread-compatible.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "base/errors.h"
#include "config/config_loader.h"
#include "support/fake_clock.h"

namespace router::config::testing {

class ConfigTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cfgtest-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    options_.working_dir = dir_.string();
    options_.host_name = "testhost";
    options_.clock = &clock_;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `text` to <dir>/<name> and returns the path.
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  // Loads `text` as the config file (plus whatever options_ holds).
  absl::StatusOr<Config> LoadText(const std::string& text) {
    LoadOptions o = options_;
    o.config_path = Write("router.toml", text);
    return LoadConfig(o);
  }

  // The error lines of a failed load (empty when it succeeded).
  static std::vector<std::string> Lines(const absl::StatusOr<Config>& r) {
    if (r.ok()) return {};
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    return absl::StrSplit(std::string(StdView(r.status().message())), '\n');
  }

  // Asserts that loading `text` fails with exactly `want` among its lines.
  void ExpectError(const std::string& text, const std::string& want) {
    auto r = LoadText(text);
    ASSERT_FALSE(r.ok()) << "loaded, expected: " << want;
    std::vector<std::string> lines = Lines(r);
    EXPECT_NE(std::find(lines.begin(), lines.end(), want), lines.end())
        << "want: " << want << "\ngot:\n"
        << r.status().message();
  }

  void ExpectOk(const std::string& text) {
    auto r = LoadText(text);
    EXPECT_TRUE(r.ok()) << r.status().message();
  }

  std::filesystem::path dir_;
  router::testing::FakeClock clock_{1'700'000'000'123};
  LoadOptions options_;
};

}  // namespace router::config::testing
