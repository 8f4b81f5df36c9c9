// Command line (configuration.md §4), --print-config redaction (§1) and the --check-config
// summary line.

#include "config/cli.h"

#include <toml++/toml.h>

#include "config/admin_auth.h"
#include "config_test_util.h"

namespace router::config {
namespace {

using testing::ConfigTestBase;

TEST(ParseCommandLineTest, NoArguments) {
  CliParseResult r = ParseCommandLine({"beamline-router"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.flags.config_path.has_value());
  EXPECT_FALSE(r.flags.overrides.grpc_listen.has_value());
  EXPECT_FALSE(r.flags.overrides.nats_url.has_value());
  EXPECT_FALSE(r.flags.check_config);
  EXPECT_FALSE(r.flags.help);
}

TEST(ParseCommandLineTest, EveryFlag) {
  CliParseResult r =
      ParseCommandLine({"beamline-router", "--config", "r.toml", "--grpc-listen", "127.0.0.1:1",
                        "--http-listen", "127.0.0.1:2", "--data-dir", "d", "--log-level", "debug",
                        "--nats-url", "nats://n:4222", "--check-config", "--enable-testing-hooks",
                        "--print-config", "--print-metrics-catalogue", "--version"});
  ASSERT_EQ(r.exit_code, -1) << r.output;
  EXPECT_EQ(r.flags.config_path, "r.toml");
  EXPECT_EQ(r.flags.overrides.grpc_listen, "127.0.0.1:1");
  EXPECT_EQ(r.flags.overrides.http_listen, "127.0.0.1:2");
  EXPECT_EQ(r.flags.overrides.data_dir, "d");
  EXPECT_EQ(r.flags.overrides.log_level, "debug");
  EXPECT_EQ(r.flags.overrides.nats_url, "nats://n:4222");
  EXPECT_TRUE(r.flags.check_config);
  EXPECT_TRUE(r.flags.enable_testing_hooks);
  EXPECT_TRUE(r.flags.print_config);
  EXPECT_TRUE(r.flags.print_metrics_catalogue);
  EXPECT_TRUE(r.flags.version);
}

// §3: an empty value is a value (an empty NATS URL turns NATS off), in both spellings.
TEST(ParseCommandLineTest, EqualsFormAndEmptyValue) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"beamline-router", "--nats-url=", "--config=x.toml"},
           {"beamline-router", "--nats-url", "", "--config", "x.toml"}}) {
    CliParseResult r = ParseCommandLine(args);
    ASSERT_EQ(r.exit_code, -1) << r.output;
    ASSERT_TRUE(r.flags.overrides.nats_url.has_value());
    EXPECT_EQ(*r.flags.overrides.nats_url, "");
    EXPECT_EQ(r.flags.config_path, "x.toml");
  }
  CliParseResult r = ParseCommandLine({"beamline-router", "--grpc-listen=[::1]:9000"});
  EXPECT_EQ(r.flags.overrides.grpc_listen, "[::1]:9000");
}

TEST(ParseCommandLineTest, HelpExitsZeroWithUsage) {
  for (const char* flag : {"--help", "-h"}) {
    CliParseResult r = ParseCommandLine({"beamline-router", flag});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.flags.help);
    EXPECT_EQ(r.output, UsageText());
  }
}

// §4: usage errors exit 2 with the problem and the usage text.
TEST(ParseCommandLineTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"beamline-router", "--bogus"},
           {"beamline-router", "positional"},
           {"beamline-router", "--config"},
           {"beamline-router", "--admin-api-key", "k"},
           {"beamline-router", "--log-level", "info", "--log-level", "debug"}}) {
    CliParseResult r = ParseCommandLine(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.output.rfind("beamline-router: ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find("Usage: beamline-router"), std::string::npos);
  }
}

TEST(MakeLoadOptionsTest, CarriesFlagsAndEnvironment) {
  CliParseResult r = ParseCommandLine(
      {"beamline-router", "--config", "c.toml", "--log-level", "warn", "--enable-testing-hooks"});
  const char* envp[] = {"BEAMLINE_ROUTER_NATS_URL=nats://x:1", "PATH=/bin", "EMPTY=", nullptr};
  LoadOptions o = MakeLoadOptions(r.flags, envp);
  EXPECT_EQ(o.config_path, "c.toml");
  EXPECT_EQ(o.overrides.log_level, "warn");
  EXPECT_TRUE(o.enable_testing_hooks);
  EXPECT_EQ(o.environment.at("BEAMLINE_ROUTER_NATS_URL"), "nats://x:1");
  EXPECT_EQ(o.environment.at("EMPTY"), "");
  EXPECT_TRUE(o.check_files);
}

class PrintConfigTest : public ConfigTestBase {};

// §1: secrets are never printed; --print-config shows "[REDACTED]".
TEST_F(PrintConfigTest, SecretsAreRedacted) {
  options_.environment = {{"BEAMLINE_ROUTER_ADMIN_API_KEY", "env-secret-key-0123"}};
  auto r = LoadText(R"(
[tracing]
otlp_headers = { authorization = "Bearer header-secret" }
[[admin.keys]]
principal = "p"
key = "file-secret-key-0123"
grants = [{ tenant = "*", role = "viewer" }]
[nats]
url = "nats://user:url-secret@host:4222"
auth = { user = "u", password = "pass-secret" }
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string out = PrintConfigToml(*r);
  for (const std::string& secret :
       {std::string("env-secret-key"), std::string("file-secret-key"), std::string("header-secret"),
        std::string("url-secret"), std::string("pass-secret"), Sha256Hex("file-secret-key-0123"),
        Sha256Hex("env-secret-key-0123")}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << "\n" << out;
  }
  toml::table parsed;
  try {
    parsed = toml::parse(out);
  } catch (const toml::parse_error& e) {
    FAIL() << e.what() << "\n" << out;
  }
  EXPECT_EQ(parsed["nats"]["auth"]["password"].value_or(std::string()), "[REDACTED]");
  EXPECT_EQ(parsed["nats"]["auth"]["token"].value_or(std::string("x")), "");  // unset stays ""
  EXPECT_EQ(parsed["nats"]["url"].value_or(std::string()), "nats://[REDACTED]@host:4222");
  EXPECT_EQ(parsed["tracing"]["otlp_headers"]["authorization"].value_or(std::string()),
            "[REDACTED]");
  EXPECT_EQ(parsed["admin"]["keys"][0]["key_sha256"].value_or(std::string()), "[REDACTED]");
  EXPECT_EQ(parsed["admin"]["keys"][1]["principal"].value_or(std::string()), "admin");
}

// The printed effective configuration loads back to the same configuration.
TEST_F(PrintConfigTest, RoundTrip) {
  auto first = LoadText(R"(
node_id = "n"
[server]
grpc_listen = "[::1]:0"
[tracing]
sample_ratio = 0.25
resource_attributes = { "deployment.environment" = "test" }
[rate_limit.tenant]
overrides = { acme = { requests_per_second = 1.5, burst = 3 } }
[nats]
url = "tls://a:4222"
[nats.jetstream.streams.assignments]
subjects = ["caf.exec.assign.v1", "caf.exec.assign.v2"]
)");
  ASSERT_TRUE(first.ok()) << first.status().message();
  std::string printed = PrintConfigToml(*first);
  auto second = LoadText(printed);
  ASSERT_TRUE(second.ok()) << second.status().message() << "\n" << printed;
  EXPECT_EQ(PrintConfigToml(*second), printed);
}

TEST_F(PrintConfigTest, SummaryIsOneLine) {
  auto r = LoadText(
      "node_id = \"dev\"\n[server]\ngrpc_listen = \"127.0.0.1:9000\"\nhttp_listen = "
      "\"127.0.0.1:9001\"\n");
  ASSERT_TRUE(r.ok());
  std::string s = ConfigSummary(*r);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_NE(s.find("node_id=dev"), std::string::npos) << s;
  EXPECT_NE(s.find("grpc=127.0.0.1:9000"), std::string::npos) << s;
  EXPECT_NE(s.find("http=127.0.0.1:9001"), std::string::npos) << s;
  EXPECT_NE(s.find("nats=off"), std::string::npos) << s;
  EXPECT_NE(s.find("admin_principals=0"), std::string::npos) << s;
}

// §5: SIGHUP applies log.level, log.rate_limit_* and tracing.sample_ratio at once; any other
// change needs a restart.
TEST_F(PrintConfigTest, ChangedKeysForReload) {
  auto a = LoadText("[log]\nlevel = \"info\"\n");
  auto b =
      LoadText("[log]\nlevel = \"debug\"\nrate_limit_burst = 20\n[tracing]\nsample_ratio = 0.5\n");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::string> changed = ChangedKeys(*a, *b);
  EXPECT_EQ(changed, (std::vector<std::string>{"log.level", "log.rate_limit_burst",
                                               "tracing.sample_ratio"}));
  EXPECT_FALSE(ReloadNeedsRestart(changed));
  EXPECT_TRUE(ChangedKeys(*a, *a).empty());

  auto c = LoadText(
      "[nats.auth]\nuser = \"u\"\npassword = \"secret-1\"\n[[admin.keys]]\nprincipal = "
      "\"p\"\nkey = \"key-0123456789\"\ngrants = [{ tenant = \"*\", role = \"admin\" }]\n");
  auto d = LoadText(
      "[nats.auth]\nuser = \"u\"\npassword = \"secret-2\"\n[[admin.keys]]\nprincipal = "
      "\"p\"\nkey = \"key-9876543210\"\ngrants = [{ tenant = \"*\", role = \"admin\" }]\n");
  ASSERT_TRUE(c.ok() && d.ok());
  changed = ChangedKeys(*c, *d);
  EXPECT_EQ(changed, (std::vector<std::string>{"admin.keys", "nats.auth.password"}));
  EXPECT_TRUE(ReloadNeedsRestart(changed));
}

}  // namespace
}  // namespace router::config
