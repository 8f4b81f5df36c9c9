// DecisionService::Decide / DryRun: request steps, exact messages and tags (grpc-api.md §3.1,
// §3.2; POL §3.1, §3.4), metadata (§3.5, POL §3.3), trace id extraction (OBS §6.2), explanation
// (§3.6, POL §3.3), DryRun (§7, POL §3.4) and the unavailable extension pipeline (POL §9).
#include "service/decision_service.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "core/decider.h"
#include "core/provider_health.h"
#include "core/random.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "service/ids.h"
#include "service_test_util.h"
#include "support/fake_clock.h"

namespace router::service {
namespace {

using testutil::CompileStamped;
using testutil::MapRequestContext;
using Steps = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using StrMap = std::map<std::string, std::string>;

constexpr char kIdPatternMessage[] = "^[A-Za-z0-9_.-]{1,255}$";
constexpr char kOne[] =
    R"({"providers":[{"name":"openai","weight":100,"expected_latency_ms":850,"cost":0.012}]})";
constexpr char kSticky[] = R"({"providers":[{"name":"openai","weight":100}],
                               "sticky":{"enabled":true}})";
constexpr char kTwo[] = R"({"providers":[{"name":"a","weight":100},{"name":"z","weight":0}]})";
constexpr char kRedecide[] = R"({
  "providers":[{"name":"a","weight":100},{"name":"b","weight":0}],
  "fallbacks":[{"when":{"status":"timeout"},"retry":2,
                "backoff":{"strategy":"fixed","base_ms":100,"jitter":false},"to":"b"}]})";
constexpr char kRetryOnly[] = R"({
  "providers":[{"name":"a","weight":100}],
  "fallbacks":[{"when":{"status":"timeout"},"retry":1}]})";
constexpr char kZeroWeight[] = R"({"providers":[{"name":"a","weight":0}]})";
constexpr char kPolicyLine[] = "policy: t1/p1 v3, strategy weighted";
constexpr char kWeightedOne[] = "weighted: 1 of 1 providers eligible, total weight 1.0 -> openai";

constexpr char kTrace1[] = "11111111111111111111111111111111";
constexpr char kTrace2[] = "22222222222222222222222222222222";
constexpr char kTrace3[] = "33333333333333333333333333333333";
constexpr char kTrace4[] = "44444444444444444444444444444444";
constexpr char kTrace5[] = "55555555555555555555555555555555";

std::string Traceparent(std::string_view trace_id) {
  return "00-" + std::string(trace_id) + "-00f067aa0ba902b7-01";
}

// A one-provider (openai) policy with extension stages; `stages` is a JSON member list.
std::string WithExtensions(std::string_view stages) {
  return R"({"providers":[{"name":"openai","weight":100}],)" + std::string(stages) + "}";
}

StrMap Effective(const Pairs& metadata) {
  StrMap out;
  for (const auto& [k, v] : metadata) out[k] = v;  // later entries win, as in the proto map
  return out;
}

StrMap DetailMap(const absl::Status& s) {
  StrMap out;
  for (const auto& [k, v] : ErrorDetails(s)) out[k] = v;
  return out;
}

bool HasStepWithPrefix(const Steps& steps, std::string_view prefix) {
  for (const auto& s : steps)
    if (s.rfind(prefix, 0) == 0) return true;
  return false;
}

bool IsUuidV4(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

class DecisionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { core::ReseedThisThreadForTest(11); }
  void TearDown() override { core::SetGlobalSeed(0); }

  // Publishes `json` compiled under (tenant, policy) with store version `version`.
  void Publish(std::string_view json, std::string_view tenant = "t1",
               std::string_view policy = "p1", uint64_t version = 3) {
    auto compiled = CompileStamped(json, tenant, policy, version);
    ASSERT_NE(compiled, nullptr);
    snapshots_.Publish(core::WithUpsert(snapshots_.Load(), compiled));
  }

  static DecideCall Call(const MapRequestContext& ctx, std::string_view tenant = "t1",
                         std::string_view policy = "p1") {
    DecideCall call;
    call.tenant_id = tenant;
    call.policy_id = policy;
    call.message_type = "chat";
    call.context = &ctx;
    return call;
  }

  DecideOutput Decide(const MapRequestContext& ctx, std::string_view tenant = "t1",
                      std::string_view policy = "p1") {
    return service_.Decide(Call(ctx, tenant, policy));
  }

  static void ExpectError(const DecideOutput& out, absl::StatusCode code, std::string_view message,
                          std::string_view tag) {
    EXPECT_EQ(out.status.code(), code) << out.status;
    EXPECT_EQ(StdView(out.status.message()), message);
    EXPECT_EQ(ErrorTag(out.status), tag);
    EXPECT_EQ(out.provider_id, "");
    EXPECT_TRUE(out.metadata.empty());
  }
  static void ExpectInvalid(const DecideOutput& out, std::string_view message) {
    ExpectError(out, absl::StatusCode::kInvalidArgument, message, "invalid_request");
  }

  router::testing::FakeClock clock_;
  core::NoBreakers health_;
  core::NoStatistics stats_;
  core::StickyTable sticky_;
  core::Decider decider_{clock_, health_, stats_, sticky_};
  core::SnapshotHolder snapshots_;
  DecisionService service_{DecisionServiceOptions{}, clock_, snapshots_, decider_};
};

// ---------------------------------------------------------------- success output

TEST_F(DecisionServiceTest, DecidesWithDeclaredValues) {
  Publish(kOne);
  MapRequestContext ctx;
  DecideOutput out = Decide(ctx);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "openai");
  EXPECT_EQ(out.reason, "weighted");
  EXPECT_EQ(out.priority, 50);
  EXPECT_EQ(out.expected_latency_ms, 850);  // no statistics: declared values (§3.4)
  EXPECT_DOUBLE_EQ(out.expected_cost, 0.012);
  EXPECT_EQ(out.policy_version, 3);
  EXPECT_TRUE(IsUuidV4(out.decision_id)) << out.decision_id;
  EXPECT_TRUE(IsValidTraceId(out.trace_id)) << out.trace_id;
  EXPECT_FALSE(out.has_explanation);
  EXPECT_TRUE(out.steps.empty());
  EXPECT_TRUE(out.excluded.empty());
}

TEST_F(DecisionServiceTest, DecisionIdIsFreshEveryTime) {
  Publish(kOne);
  MapRequestContext ctx;
  DecideOutput a = Decide(ctx);
  DecideOutput b = Decide(ctx);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_NE(a.decision_id, b.decision_id);
  EXPECT_NE(a.trace_id, b.trace_id);
}

TEST_F(DecisionServiceTest, SeesTheCurrentSnapshot) {
  Publish(kOne, "t1", "p1", 3);
  MapRequestContext ctx;
  EXPECT_EQ(Decide(ctx).policy_version, 3);
  Publish(R"({"providers":[{"name":"mistral","weight":100}]})", "t1", "p1", 4);
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(out.policy_version, 4);
  EXPECT_EQ(out.provider_id, "mistral");
}

// ---------------------------------------------------------------- step 1: validation

TEST_F(DecisionServiceTest, MissingMessageComesFirst) {
  MapRequestContext ctx;
  DecideCall call = Call(ctx, "");
  call.has_message = false;
  ExpectInvalid(service_.Decide(call), "missing message");
  ExpectInvalid(service_.DryRun(call), "missing message");
}

TEST_F(DecisionServiceTest, TenantEmpty) {
  MapRequestContext ctx;
  ExpectInvalid(Decide(ctx, ""), "tenant_id cannot be empty");
}

TEST_F(DecisionServiceTest, TenantPattern) {
  MapRequestContext ctx;
  const std::string message = std::string("tenant_id must match ") + kIdPatternMessage;
  for (std::string bad : {std::string("a b"), std::string("."), std::string(".."),
                          std::string(256, 't'), std::string("t/1"), std::string("t\n")}) {
    ExpectInvalid(Decide(ctx, bad), message);
  }
  EXPECT_EQ(DecisionService::ValidateTenant("t1"), absl::OkStatus());
  EXPECT_EQ(StdView(DecisionService::ValidateTenant("").message()), "tenant_id cannot be empty");
  // 255 bytes is a valid tenant: the call gets as far as the lookup.
  EXPECT_EQ(Decide(ctx, std::string(255, 't')).status.code(), absl::StatusCode::kNotFound);
}

TEST_F(DecisionServiceTest, TenantIsCheckedBeforeContext) {
  MapRequestContext ctx;
  for (int i = 0; i < 70; ++i) ctx.Set("k" + std::to_string(i), "v");
  ExpectInvalid(Decide(ctx, ""), "tenant_id cannot be empty");
}

TEST_F(DecisionServiceTest, ContextEntryLimit) {
  Publish(kOne);
  MapRequestContext ctx;
  for (int i = 0; i < 64; ++i) ctx.Set("k" + std::to_string(i), "v");
  EXPECT_TRUE(Decide(ctx).status.ok());
  ctx.Set("one_more", "v");
  ExpectInvalid(Decide(ctx), "context: at most 64 entries");
}

TEST_F(DecisionServiceTest, ContextLimitsComeFromOptions) {
  Publish(kOne);
  DecisionServiceOptions options;
  options.max_context_entries = 2;
  options.max_context_key_bytes = 3;
  options.max_context_value_bytes = 4;
  DecisionService service(options, clock_, snapshots_, decider_);
  MapRequestContext ctx{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_EQ(StdView(service.Decide(Call(ctx)).status.message()), "context: at most 2 entries");
  MapRequestContext long_key{{"abcd", "1"}};
  EXPECT_EQ(StdView(service.Decide(Call(long_key)).status.message()),
            "context: key exceeds 3 bytes");
  MapRequestContext long_value{{"abc", "12345"}};
  EXPECT_EQ(StdView(service.Decide(Call(long_value)).status.message()),
            "context.abc: exceeds 4 bytes");
  MapRequestContext at_limits{{"abc", "1234"}, {"x", ""}};
  EXPECT_TRUE(service.Decide(Call(at_limits)).status.ok());
}

TEST_F(DecisionServiceTest, ContextKeyBytes) {
  Publish(kOne);
  MapRequestContext ctx{{std::string(128, 'k'), "v"}};
  EXPECT_TRUE(Decide(ctx).status.ok());
  ctx.Set(std::string(129, 'k'), "v");
  ExpectInvalid(Decide(ctx), "context: key exceeds 128 bytes");
}

TEST_F(DecisionServiceTest, ContextValueBytes) {
  Publish(kOne);
  MapRequestContext ctx{{"blob", std::string(1024, 'v')}};
  EXPECT_TRUE(Decide(ctx).status.ok());
  ctx.Set("blob", std::string(1025, 'v'));
  ExpectInvalid(Decide(ctx), "context.blob: exceeds 1024 bytes");
}

TEST_F(DecisionServiceTest, EntryCountIsCheckedBeforeSizes) {
  MapRequestContext ctx{{std::string(200, 'k'), "v"}};
  for (int i = 0; i < 64; ++i) ctx.Set("k" + std::to_string(i), "v");
  ExpectInvalid(Decide(ctx), "context: at most 64 entries");
}

TEST_F(DecisionServiceTest, SizesAreCheckedBeforeReservedKeys) {
  MapRequestContext ctx{{"attempt", "x"}, {"blob", std::string(2000, 'v')}};
  ExpectInvalid(Decide(ctx), "context.blob: exceeds 1024 bytes");
}

TEST_F(DecisionServiceTest, IdempotencyKeyFormat) {
  Publish(kOne);
  const char* message = "context.idempotency_key: must be 1-256 bytes without control characters";
  for (std::string bad :
       {std::string(""), std::string(257, 'k'), std::string("a\tb"), std::string("a\nb"),
        std::string("a\x7f"), std::string("\x01"), std::string("a\0b", 3)}) {
    MapRequestContext ctx{{"idempotency_key", bad}};
    ExpectInvalid(Decide(ctx), message);
  }
  for (std::string good : {std::string("k"), std::string(256, 'k'), std::string("order 42 / é")}) {
    MapRequestContext ctx{{"idempotency_key", good}};
    EXPECT_TRUE(Decide(ctx).status.ok()) << good;
  }
}

TEST_F(DecisionServiceTest, AttemptFormat) {
  Publish(kOne);
  for (const char* bad :
       {"", "-1", "1001", "abc", "1.0", "+1", " 1", "1 ", "99999999999999999999"}) {
    MapRequestContext ctx{{"attempt", bad}};
    ExpectInvalid(Decide(ctx), "context.attempt: must be a non-negative integer");
  }
  for (const char* good : {"0", "1", "1000"}) {
    MapRequestContext ctx{{"attempt", good}};
    EXPECT_TRUE(Decide(ctx).status.ok()) << good;
  }
}

TEST_F(DecisionServiceTest, DeadlineFormat) {
  Publish(kOne);
  for (const char* bad : {"", "abc", "-1", "1.5", " 1", "1e3", "+1700000000000",
                          "99999999999999999999", "9223372036854775808"}) {
    MapRequestContext ctx{{"deadline", bad}};
    ExpectInvalid(Decide(ctx), "context.deadline: must be an epoch-ms integer");
  }
  MapRequestContext ctx{{"deadline", "9223372036854775807"}};
  EXPECT_TRUE(Decide(ctx).status.ok());
}

TEST_F(DecisionServiceTest, ReservedKeysAreValidatedBeforeTheLookup) {
  // No policy is published: format errors still win over NOT_FOUND (step 1 before step 6).
  MapRequestContext attempt{{"attempt", "x"}};
  ExpectInvalid(Decide(attempt), "context.attempt: must be a non-negative integer");
  MapRequestContext deadline{{"deadline", "x"}};
  ExpectInvalid(Decide(deadline), "context.deadline: must be an epoch-ms integer");
  MapRequestContext key{{"idempotency_key", ""}};
  EXPECT_EQ(Decide(key).status.code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- step 2: policy_id

TEST_F(DecisionServiceTest, PolicyIdResolution) {
  Publish(R"({"providers":[{"name":"from_field","weight":100}]})", "t1", "pf");
  Publish(R"({"providers":[{"name":"from_context","weight":100}]})", "t1", "pc");
  Publish(R"({"providers":[{"name":"from_default","weight":100}]})", "t1", "default");
  MapRequestContext with_ctx{{"policy_id", "pc"}};
  MapRequestContext empty_ctx{{"policy_id", ""}};
  MapRequestContext none;
  EXPECT_EQ(Decide(with_ctx, "t1", "pf").provider_id, "from_field");
  EXPECT_EQ(Decide(with_ctx, "t1", "").provider_id, "from_context");
  EXPECT_EQ(Decide(empty_ctx, "t1", "").provider_id, "from_default");
  EXPECT_EQ(Decide(none, "t1", "").provider_id, "from_default");
  EXPECT_EQ(Effective(Decide(with_ctx, "t1", "").metadata)["policy_id"], "pc");
  EXPECT_EQ(Effective(Decide(none, "t1", "").metadata)["policy_id"], "default");
}

TEST_F(DecisionServiceTest, PolicyIdPattern) {
  Publish(kOne);
  const std::string message = std::string("policy_id must match ") + kIdPatternMessage;
  MapRequestContext none;
  for (std::string bad : {std::string("bad id"), std::string("."), std::string(".."),
                          std::string(256, 'p'), std::string("p/1")}) {
    ExpectInvalid(Decide(none, "t1", bad), message);
    MapRequestContext via_context{{"policy_id", bad}};
    ExpectInvalid(Decide(via_context, "t1", ""), message);
  }
  // A bad context policy_id is irrelevant when the field is set.
  MapRequestContext ignored{{"policy_id", "bad id"}};
  EXPECT_TRUE(Decide(ignored, "t1", "p1").status.ok());
}

TEST_F(DecisionServiceTest, PolicyIdIsCheckedBeforeTheAllowlist) {
  DecisionServiceOptions options;
  options.tenant_allowlist = {"other"};
  DecisionService service(options, clock_, snapshots_, decider_);
  MapRequestContext ctx;
  ExpectInvalid(service.Decide(Call(ctx, "t1", "bad id")),
                std::string("policy_id must match ") + kIdPatternMessage);
}

// ---------------------------------------------------------------- step 3: allowlist

TEST_F(DecisionServiceTest, AllowlistDeniesOtherTenants) {
  Publish(kOne, "t1");
  Publish(kOne, "t2");
  DecisionServiceOptions options;
  options.tenant_allowlist = {"t0", "t1"};
  DecisionService service(options, clock_, snapshots_, decider_);
  MapRequestContext ctx;
  EXPECT_TRUE(service.Decide(Call(ctx, "t1")).status.ok());
  ExpectError(service.Decide(Call(ctx, "t2")), absl::StatusCode::kPermissionDenied,
              "tenant not allowed", "tenant_not_allowed");
  // Step 3 comes before the lookup and before the deadline.
  MapRequestContext past{{"deadline", "1"}};
  ExpectError(service.Decide(Call(past, "t3", "missing")), absl::StatusCode::kPermissionDenied,
              "tenant not allowed", "tenant_not_allowed");
  ExpectError(service.DryRun(Call(ctx, "t2")), absl::StatusCode::kPermissionDenied,
              "tenant not allowed", "tenant_not_allowed");
}

// ---------------------------------------------------------------- step 6: lookup

TEST_F(DecisionServiceTest, NotFound) {
  Publish(kOne, "t1", "p1");
  Publish(kOne, "t2", "p9");
  MapRequestContext ctx;
  DecideOutput out = Decide(ctx, "t1", "p9");
  ExpectError(out, absl::StatusCode::kNotFound, "policy \"p9\" not found for tenant \"t1\"",
              "policy_not_found");
  EXPECT_EQ(ErrorDetails(out.status), (Pairs{{"tenant_id", "t1"}, {"policy_id", "p9"}}));
  ExpectError(Decide(ctx, "t1", ""), absl::StatusCode::kNotFound,
              "policy \"default\" not found for tenant \"t1\"", "policy_not_found");
  ExpectError(Decide(ctx, "T1", "p1"), absl::StatusCode::kNotFound,
              "policy \"p1\" not found for tenant \"T1\"", "policy_not_found");
}

// ---------------------------------------------------------------- deadline

TEST_F(DecisionServiceTest, PastDeadlineIsDeadlineExceeded) {
  Publish(kOne);
  const int64_t now = clock_.WallMs();
  for (int64_t deadline : {int64_t{0}, now - 1000, now - 1}) {
    MapRequestContext ctx{{"deadline", std::to_string(deadline)}};
    ExpectError(Decide(ctx), absl::StatusCode::kDeadlineExceeded, "deadline exceeded",
                "deadline_exceeded");
  }
  MapRequestContext future{{"deadline", std::to_string(now + 1)}};
  EXPECT_TRUE(Decide(future).status.ok());
}

TEST_F(DecisionServiceTest, DeadlineFollowsTheInjectedWallClock) {
  Publish(kOne);
  MapRequestContext ctx{{"deadline", std::to_string(clock_.WallMs() + 500)}};
  EXPECT_TRUE(Decide(ctx).status.ok());
  clock_.Advance(std::chrono::milliseconds(501));
  EXPECT_EQ(Decide(ctx).status.code(), absl::StatusCode::kDeadlineExceeded);
  clock_.SetWallMs(1);  // the wall clock may jump back
  EXPECT_TRUE(Decide(ctx).status.ok());
}

TEST_F(DecisionServiceTest, DeadlineIsCheckedAfterTheLookup) {
  MapRequestContext ctx{{"deadline", "1"}};
  ExpectError(Decide(ctx, "t1", "absent"), absl::StatusCode::kNotFound,
              "policy \"absent\" not found for tenant \"t1\"", "policy_not_found");
}

TEST_F(DecisionServiceTest, DeadlineFailureWritesNoPin) {
  Publish(kSticky);
  MapRequestContext past{{"deadline", "1"}, {"session_id", "s1"}};
  EXPECT_EQ(Decide(past).status.code(), absl::StatusCode::kDeadlineExceeded);
  MapRequestContext ctx{{"session_id", "s1"}};
  EXPECT_EQ(Decide(ctx).reason, "weighted");
  EXPECT_EQ(Decide(ctx).reason, "sticky");
}

// ---------------------------------------------------------------- selection errors

TEST_F(DecisionServiceTest, NoProviderConfigured) {
  Publish(kZeroWeight);
  MapRequestContext ctx;
  DecideOutput out = Decide(ctx);
  ExpectError(out, absl::StatusCode::kFailedPrecondition,
              "policy \"p1\" can never yield a provider (no positive weight and no fallback "
              "target)",
              "no_provider_configured");
  StrMap details = DetailMap(out.status);
  EXPECT_EQ(details["tenant_id"], "t1");
  EXPECT_EQ(details["policy_id"], "p1");
}

TEST_F(DecisionServiceTest, NoProviderAvailableCarriesExclusions) {
  Publish(kRetryOnly);
  MapRequestContext ctx{
      {"status", "timeout"}, {"previous_provider", "a"}, {"attempt", "1"}, {"explain", "true"}};
  DecideOutput out = Decide(ctx);
  ExpectError(out, absl::StatusCode::kUnavailable,
              "no provider available: all 1 providers excluded", "no_provider_available");
  StrMap details = DetailMap(out.status);
  EXPECT_EQ(details["excluded"], "a=retries_exhausted");
  EXPECT_EQ(details["tenant_id"], "t1");
  EXPECT_EQ(details["policy_id"], "p1");
  EXPECT_EQ(details.count("retry_after_ms"), 0u);  // nothing time-bound
  EXPECT_TRUE(out.has_explanation);
  EXPECT_EQ(out.excluded, (Pairs{{"a", "retries_exhausted"}}));
  ASSERT_FALSE(out.steps.empty());
  EXPECT_EQ(out.steps.front(), "policy: t1/p1 v3, strategy weighted");
  EXPECT_EQ(out.steps.back(), "fallback_chain: no target available");
}

// ---------------------------------------------------------------- metadata (§3.5)

TEST_F(DecisionServiceTest, MetadataCopiesContextThenRouterKeysWin) {
  Publish(kOne);
  MapRequestContext ctx{{"user", "u1"},
                        {"tenant_id", "spoofed"},
                        {"policy_id", "spoofed"},
                        {"policy_version", "99"},
                        {"decision_id", "spoofed"},
                        {"trace_id", "not-a-trace-id"},
                        {"correlation_id", "from-context"}};
  DecideCall call = Call(ctx, "t1", "p1");
  call.correlation_id = "from-header";
  DecideOutput out = service_.Decide(call);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Effective(out.metadata), (StrMap{{"user", "u1"},
                                             {"tenant_id", "t1"},
                                             {"policy_id", "p1"},
                                             {"policy_version", "3"},
                                             {"decision_id", out.decision_id},
                                             {"trace_id", out.trace_id},
                                             {"correlation_id", "from-header"}}));
  // Context entries first, router keys last (so they override in the proto map).
  std::vector<std::string> keys;
  for (const auto& [k, v] : out.metadata) keys.push_back(k);
  ASSERT_GE(keys.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(keys.end() - 6, keys.end()),
            (std::vector<std::string>{"tenant_id", "policy_id", "policy_version", "decision_id",
                                      "trace_id", "correlation_id"}));
}

TEST_F(DecisionServiceTest, MetadataWithoutCorrelationHeader) {
  Publish(kOne);
  MapRequestContext ctx{{"a", "1"}};
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(Effective(out.metadata), (StrMap{{"a", "1"},
                                             {"tenant_id", "t1"},
                                             {"policy_id", "p1"},
                                             {"policy_version", "3"},
                                             {"decision_id", out.decision_id},
                                             {"trace_id", out.trace_id}}));
}

TEST_F(DecisionServiceTest, CorrelationIdOnlyUpTo256Bytes) {
  Publish(kOne);
  MapRequestContext ctx;
  DecideCall call = Call(ctx);
  const std::string at_limit(256, 'c');
  call.correlation_id = at_limit;
  EXPECT_EQ(Effective(service_.Decide(call).metadata)["correlation_id"], at_limit);
  const std::string too_long(257, 'c');
  call.correlation_id = too_long;
  EXPECT_EQ(Effective(service_.Decide(call).metadata).count("correlation_id"), 0u);
  // An ignored header leaves a context entry of the same name as it is (a plain context copy).
  MapRequestContext with_entry{{"correlation_id", "ctx"}};
  DecideCall call2 = Call(with_entry);
  call2.correlation_id = too_long;
  EXPECT_EQ(Effective(service_.Decide(call2).metadata)["correlation_id"], "ctx");
}

TEST_F(DecisionServiceTest, PolicyMetadataIsNeverCopied) {
  Publish(R"({"providers":[{"name":"openai","weight":100}],
              "metadata":{"owner":"platform","description":"x"}})");
  MapRequestContext ctx;
  StrMap md = Effective(Decide(ctx).metadata);
  EXPECT_EQ(md.count("owner"), 0u);
  EXPECT_EQ(md.count("description"), 0u);
  EXPECT_EQ(md.size(), 5u);
}

TEST_F(DecisionServiceTest, RetryAddsReDecisionKeys) {
  Publish(kRedecide);
  MapRequestContext ctx{{"status", "timeout"}, {"previous_provider", "a"}, {"attempt", "0"}};
  DecideOutput out = Decide(ctx);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "a");
  EXPECT_EQ(out.reason, "retry");
  EXPECT_EQ(out.priority, 50);
  StrMap md = Effective(out.metadata);
  EXPECT_EQ(md["retry_attempt"], "1");
  EXPECT_EQ(md["retry_max"], "2");
  EXPECT_EQ(md["backoff_ms"], "100");
  EXPECT_EQ(md["fallback_rule"], "0");
  EXPECT_EQ(md["status"], "timeout");  // context entries are echoed
}

TEST_F(DecisionServiceTest, FallbackAddsOnlyTheRuleIndex) {
  Publish(kRedecide);
  MapRequestContext ctx{{"status", "timeout"}, {"previous_provider", "a"}, {"attempt", "2"}};
  DecideOutput out = Decide(ctx);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "b");
  EXPECT_EQ(out.reason, "fallback");
  EXPECT_EQ(out.priority, 25);
  StrMap md = Effective(out.metadata);
  EXPECT_EQ(md["fallback_rule"], "0");
  EXPECT_EQ(md.count("retry_attempt"), 0u);
  EXPECT_EQ(md.count("retry_max"), 0u);
  EXPECT_EQ(md.count("backoff_ms"), 0u);
}

TEST_F(DecisionServiceTest, FirstDecisionHasNoReDecisionKeys) {
  Publish(kRedecide);
  MapRequestContext ctx;
  StrMap md = Effective(Decide(ctx).metadata);
  for (const char* key : {"retry_attempt", "retry_max", "backoff_ms", "fallback_rule"}) {
    EXPECT_EQ(md.count(key), 0u) << key;
  }
}

// ---------------------------------------------------------------- trace id (OBS §6.2)

struct TraceCase {
  const char* name;
  std::string header;  // W3C traceparent header
  std::vector<std::pair<std::string, std::string>> context;
  std::string message_trace_id;
  std::string expected;  // "" = a fresh one
};

TEST_F(DecisionServiceTest, TraceIdPrecedence) {
  Publish(kOne);
  const std::vector<TraceCase> cases = {
      {"header wins",
       Traceparent(kTrace1),
       {{"traceparent", Traceparent(kTrace2)},
        {"trace-parent", Traceparent(kTrace3)},
        {"trace_id", kTrace4}},
       kTrace5,
       kTrace1},
      {"context traceparent after an invalid header",
       "garbage",
       {{"traceparent", Traceparent(kTrace2)},
        {"trace-parent", Traceparent(kTrace3)},
        {"trace_id", kTrace4}},
       kTrace5,
       kTrace2},
      {"trace-parent alias",
       "",
       {{"trace-parent", Traceparent(kTrace3)}, {"trace_id", kTrace4}},
       kTrace5,
       kTrace3},
      {"invalid traceparent falls to the alias",
       "",
       {{"traceparent", Traceparent("00000000000000000000000000000000")},
        {"trace-parent", Traceparent(kTrace3)}},
       kTrace5,
       kTrace3},
      {"context trace_id", "", {{"trace_id", kTrace4}}, kTrace5, kTrace4},
      // OBS §6.2 fixes the case only for traceparent; a context trace_id in hex or UUID form
      // is accepted in either case and lowercased (obs/tracing/trace_extraction).
      {"uppercase context trace_id is lowercased",
       "",
       {{"trace_id", "4444444444444444444444444444444A"}},
       kTrace5,
       "4444444444444444444444444444444a"},
      {"message trace_id", "", {}, kTrace5, kTrace5},
      {"header with uppercase hex is skipped",
       "00-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-00f067aa0ba902b7-01",
       {},
       kTrace5,
       kTrace5},
      {"nothing valid: fresh", "bad", {{"trace_id", "xyz"}}, "not-hex", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MapRequestContext ctx;
    for (const auto& [k, v] : c.context) ctx.Set(k, v);
    DecideCall call = Call(ctx);
    call.traceparent = c.header;
    call.message_trace_id = c.message_trace_id;
    DecideOutput out = service_.Decide(call);
    ASSERT_TRUE(out.status.ok()) << out.status;
    if (c.expected.empty()) {
      EXPECT_TRUE(IsValidTraceId(out.trace_id)) << out.trace_id;
      for (const char* t : {kTrace1, kTrace2, kTrace3, kTrace4, kTrace5}) {
        EXPECT_NE(out.trace_id, t);
      }
    } else {
      EXPECT_EQ(out.trace_id, c.expected);
    }
    EXPECT_EQ(Effective(out.metadata)["trace_id"], out.trace_id);
  }
}

TEST_F(DecisionServiceTest, TraceIdContextAliases) {
  // OBS §6.2: context `trace_id` has the aliases `trace-id`, `traceId`, `X-Trace-Id`.
  Publish(kOne);
  for (const char* alias : {"trace-id", "traceId", "X-Trace-Id"}) {
    SCOPED_TRACE(alias);
    MapRequestContext ctx{{alias, kTrace4}};
    DecideCall call = Call(ctx);
    call.message_trace_id = kTrace5;
    DecideOutput out = service_.Decide(call);
    ASSERT_TRUE(out.status.ok());
    EXPECT_EQ(out.trace_id, kTrace4);
  }
}

// ---------------------------------------------------------------- explanation (§3.6)

TEST_F(DecisionServiceTest, ExplanationOnlyWhenAsked) {
  Publish(kTwo);
  const std::vector<std::pair<std::string, std::string>> no = {
      {"detail_level", "basic"}, {"detail_level", ""},    {"detail_level", "detail"},
      {"explain", "false"},      {"explain", "1"},        {"explain", "yes"},
      {"explain", " true"},      {"detail_level", "none"}};
  for (const auto& [k, v] : no) {
    MapRequestContext ctx{{k, v}};
    DecideOutput out = Decide(ctx);
    ASSERT_TRUE(out.status.ok());
    EXPECT_FALSE(out.has_explanation) << k << "=" << v;
    EXPECT_TRUE(out.steps.empty()) << k << "=" << v;
    EXPECT_TRUE(out.excluded.empty()) << k << "=" << v;
  }
}

TEST_F(DecisionServiceTest, DetailedExplanationCaseInsensitive) {
  Publish(kTwo);
  const std::vector<std::pair<std::string, std::string>> yes = {
      {"detail_level", "detailed"}, {"detail_level", "DETAILED"}, {"detail_level", "Detailed"},
      {"explain", "true"},          {"explain", "TRUE"},          {"explain", "True"}};
  for (const auto& [k, v] : yes) {
    MapRequestContext ctx{{k, v}};
    DecideOutput out = Decide(ctx);
    ASSERT_TRUE(out.status.ok());
    EXPECT_TRUE(out.has_explanation) << k << "=" << v;
    EXPECT_EQ(out.steps, (Steps{"policy: t1/p1 v3, strategy weighted",
                                "weighted: 1 of 2 providers eligible, total weight 1.0 -> a"}))
        << k << "=" << v;
    EXPECT_EQ(out.excluded, (Pairs{{"z", "zero_weight"}})) << k << "=" << v;
  }
}

TEST_F(DecisionServiceTest, VerboseExplanation) {
  Publish(kTwo);
  for (const char* level : {"verbose", "VERBOSE", "Verbose"}) {
    MapRequestContext ctx{{"detail_level", level}, {"explain", "false"}};
    DecideOutput out = Decide(ctx);
    ASSERT_TRUE(out.has_explanation) << level;
    EXPECT_TRUE(HasStepWithPrefix(out.steps, "provider: a weight 1.0")) << level;
    EXPECT_TRUE(HasStepWithPrefix(out.steps, "provider: z weight 0.0")) << level;
  }
  MapRequestContext detailed{{"detail_level", "detailed"}};
  EXPECT_FALSE(HasStepWithPrefix(Decide(detailed).steps, "provider: "));
}

TEST_F(DecisionServiceTest, ExplainTrueWithUnknownDetailLevel) {
  Publish(kOne);
  MapRequestContext ctx{{"detail_level", "none"}, {"explain", "true"}};
  DecideOutput out = Decide(ctx);
  EXPECT_TRUE(out.has_explanation);
  EXPECT_EQ(out.steps, (Steps{kPolicyLine, kWeightedOne}));
}

// ---------------------------------------------------------------- sticky and DryRun (§7)

TEST_F(DecisionServiceTest, DecideWritesAPin) {
  Publish(kSticky);
  MapRequestContext ctx{{"session_id", "s1"}};
  EXPECT_EQ(Decide(ctx).reason, "weighted");
  DecideOutput again = Decide(ctx);
  EXPECT_EQ(again.reason, "sticky");
  EXPECT_EQ(again.priority, 100);
}

TEST_F(DecisionServiceTest, UnusableSessionValueIsNotStickyAndNoError) {
  // §3.2: a session value that is empty or longer than 256 bytes disables stickiness, no error.
  Publish(kSticky);
  for (std::string value : {std::string(""), std::string(257, 's')}) {
    MapRequestContext ctx{{"session_id", value}};
    DecideOutput first = Decide(ctx);
    ASSERT_TRUE(first.status.ok()) << first.status;
    EXPECT_EQ(first.reason, "weighted");
    EXPECT_EQ(Decide(ctx).reason, "weighted");
  }
  MapRequestContext at_limit{{"session_id", std::string(256, 's')}};
  EXPECT_EQ(Decide(at_limit).reason, "weighted");
  EXPECT_EQ(Decide(at_limit).reason, "sticky");
}

TEST_F(DecisionServiceTest, DryRunWritesNoPin) {
  Publish(kSticky);
  MapRequestContext ctx{{"session_id", "s1"}};
  DecideOutput dry = service_.DryRun(Call(ctx));
  ASSERT_TRUE(dry.status.ok()) << dry.status;
  EXPECT_EQ(dry.reason, "weighted");
  EXPECT_EQ(service_.DryRun(Call(ctx)).reason, "weighted");
  // The session has no pin: the first real decision is weighted, the second sticky.
  EXPECT_EQ(Decide(ctx).reason, "weighted");
  EXPECT_EQ(Decide(ctx).reason, "sticky");
  // DryRun may read pins.
  EXPECT_EQ(service_.DryRun(Call(ctx)).reason, "sticky");
}

TEST_F(DecisionServiceTest, DryRunAlwaysExplains) {
  Publish(kOne);
  MapRequestContext ctx;
  DecideOutput out = service_.DryRun(Call(ctx));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_TRUE(out.has_explanation);
  EXPECT_EQ(out.steps, (Steps{kPolicyLine, kWeightedOne}));
  EXPECT_EQ(out.provider_id, "openai");
  EXPECT_EQ(out.policy_version, 3);
  EXPECT_TRUE(IsUuidV4(out.decision_id));
  // `explain=false` does not switch DryRun's explanation off.
  MapRequestContext off{{"explain", "false"}};
  EXPECT_TRUE(service_.DryRun(Call(off)).has_explanation);
}

TEST_F(DecisionServiceTest, DryRunExplanationLevelFromContext) {
  Publish(kTwo);
  MapRequestContext verbose{{"detail_level", "verbose"}};
  EXPECT_TRUE(HasStepWithPrefix(service_.DryRun(Call(verbose)).steps, "provider: "));
  MapRequestContext plain;
  EXPECT_FALSE(HasStepWithPrefix(service_.DryRun(Call(plain)).steps, "provider: "));
}

TEST_F(DecisionServiceTest, DryRunReportsErrorsInStatus) {
  Publish(kOne);
  MapRequestContext ctx;
  ExpectError(service_.DryRun(Call(ctx, "t1", "absent")), absl::StatusCode::kNotFound,
              "policy \"absent\" not found for tenant \"t1\"", "policy_not_found");
  MapRequestContext past{{"deadline", "1"}};
  ExpectError(service_.DryRun(Call(past)), absl::StatusCode::kDeadlineExceeded, "deadline exceeded",
              "deadline_exceeded");
  MapRequestContext bad{{"attempt", "-1"}};
  ExpectInvalid(service_.DryRun(Call(bad)), "context.attempt: must be a non-negative integer");
  Publish(kZeroWeight, "t1", "zero");
  EXPECT_EQ(service_.DryRun(Call(ctx, "t1", "zero")).status.code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DecisionServiceTest, DryRunInlinePolicyHasVersionZero) {
  Publish(kOne, "t1", "p1", 5);
  auto inline_policy =
      policy::CompilePolicy(R"({"providers":[{"name":"inline_p","weight":100}]})", "t1", "p1");
  ASSERT_TRUE(inline_policy.ok()) << inline_policy.status();
  MapRequestContext ctx;
  DecideCall call = Call(ctx);
  call.inline_policy = inline_policy->get();
  DecideOutput out = service_.DryRun(call);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "inline_p");
  EXPECT_EQ(out.policy_version, 0);
  EXPECT_EQ(Effective(out.metadata)["policy_version"], "0");
  ASSERT_FALSE(out.steps.empty());
  EXPECT_EQ(out.steps.front(), "policy: t1/p1 v0, strategy weighted");
  // The inline document needs no stored policy.
  DecideCall unsaved = Call(ctx, "t1", "unsaved");
  auto unsaved_policy =
      policy::CompilePolicy(R"({"providers":[{"name":"inline_p","weight":100}]})", "t1", "unsaved");
  ASSERT_TRUE(unsaved_policy.ok());
  unsaved.inline_policy = unsaved_policy->get();
  EXPECT_EQ(service_.DryRun(unsaved).provider_id, "inline_p");
}

// ---------------------------------------------------------------- extensions (POL §9)

TEST_F(DecisionServiceTest, RequiredPreProcessorFailsUnavailable) {
  Publish(WithExtensions(R"("pre":[{"id":"trim","mode":"required"}])"));
  MapRequestContext ctx;
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorTag(out.status), "pre_processor_failed");
  EXPECT_NE(StdView(out.status.message()).find("\"trim\""), std::string_view::npos)
      << out.status.message();
  EXPECT_EQ(DetailMap(out.status), (StrMap{{"cause", "extension_unavailable"},
                                           {"extension_id", "trim"},
                                           {"executed_extensions", "[]"},
                                           {"tenant_id", "t1"},
                                           {"policy_id", "p1"}}));
  EXPECT_EQ(out.provider_id, "");
  EXPECT_TRUE(out.metadata.empty());
  EXPECT_FALSE(out.has_explanation);
  EXPECT_TRUE(out.steps.empty());
}

TEST_F(DecisionServiceTest, BlockingValidatorFailsUnavailable) {
  // on_fail defaults to block (POL §9 Items).
  for (const char* item : {R"({"id":"pii"})", R"({"id":"pii","on_fail":"block"})"}) {
    Publish(WithExtensions(std::string(R"("validators":[)") + item + "]"));
    MapRequestContext ctx;
    DecideOutput out = Decide(ctx);
    EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << item;
    EXPECT_EQ(ErrorTag(out.status), "validator_blocked") << item;
    StrMap details = DetailMap(out.status);
    EXPECT_EQ(details["cause"], "extension_unavailable");
    EXPECT_EQ(details["extension_id"], "pii");
    EXPECT_EQ(details["executed_extensions"], "[]");
  }
}

TEST_F(DecisionServiceTest, RequiredPostProcessorFailsAndWritesNoPin) {
  Publish(R"({"providers":[{"name":"openai","weight":100}],"sticky":{"enabled":true},
              "post":[{"id":"bill","mode":"required"}]})");
  MapRequestContext ctx{{"session_id", "s1"}};
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorTag(out.status), "post_processor_failed");
  EXPECT_EQ(DetailMap(out.status)["extension_id"], "bill");
  // Same key without the post item: no pin was written by the failed decision.
  Publish(kSticky, "t1", "p1", 4);
  EXPECT_EQ(Decide(ctx).reason, "weighted");
  EXPECT_EQ(Decide(ctx).reason, "sticky");
}

TEST_F(DecisionServiceTest, OptionalItemsAreSkipped) {
  Publish(WithExtensions(R"("pre":[{"id":"p_default"},{"id":"p_opt","mode":"optional"}],
                            "validators":[{"id":"v_warn","on_fail":"warn"},
                                          {"id":"v_ignore","on_fail":"ignore"}],
                            "post":[{"id":"post_opt","mode":"optional"}])"));
  MapRequestContext ctx;
  DecideOutput out = Decide(ctx);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "openai");
  EXPECT_EQ(Effective(out.metadata).count("executed_extensions"), 0u);
}

TEST_F(DecisionServiceTest, ItemsWhoseWhenIsFalseAreSkipped) {
  Publish(WithExtensions(R"("pre":[{"id":"trim","mode":"required","when":{"channel":"web"}}],
                            "validators":[{"id":"pii","when":{"channel":"web"}}],
                            "post":[{"id":"bill","mode":"required","when":{"channel":"web"}}])"));
  MapRequestContext other{{"channel", "api"}};
  EXPECT_TRUE(Decide(other).status.ok());
  MapRequestContext missing;
  EXPECT_TRUE(Decide(missing).status.ok());
  MapRequestContext web{{"channel", "web"}};
  EXPECT_EQ(ErrorTag(Decide(web).status), "pre_processor_failed");
}

TEST_F(DecisionServiceTest, WhenSeesRouterKeysOverContext) {
  // POL §2 "Evaluation context": tenant_id, the effective policy_id and message_type are set by
  // the router and override request entries of the same names.
  Publish(WithExtensions(R"("pre":[{"id":"trim","mode":"required",
                                    "when":{"tenant_id":"t1","policy_id":"p1",
                                            "message_type":"chat"}}])"));
  MapRequestContext spoofed{
      {"tenant_id", "other"}, {"policy_id", "other"}, {"message_type", "other"}};
  EXPECT_EQ(ErrorTag(Decide(spoofed, "t1", "p1").status), "pre_processor_failed");
  MapRequestContext ctx;
  DecideCall call = Call(ctx);
  call.message_type = "embedding";
  EXPECT_TRUE(service_.Decide(call).status.ok());
}

TEST_F(DecisionServiceTest, StagesFailInPipelineOrder) {
  Publish(WithExtensions(R"("post":[{"id":"bill","mode":"required"}],
                            "validators":[{"id":"pii"}],
                            "pre":[{"id":"skip_me"},{"id":"trim","mode":"required"}])"));
  MapRequestContext ctx{{"explain", "true"}};
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(ErrorTag(out.status), "pre_processor_failed");
  EXPECT_EQ(DetailMap(out.status)["extension_id"], "trim");
  EXPECT_TRUE(out.has_explanation);
  EXPECT_EQ(out.steps,
            (Steps{kPolicyLine, "extension: pre skip_me skipped", "extension: pre trim error"}));

  Publish(WithExtensions(R"("post":[{"id":"bill","mode":"required"}],
                            "validators":[{"id":"warn_only","on_fail":"warn"},{"id":"pii"}])"));
  out = Decide(ctx);
  EXPECT_EQ(ErrorTag(out.status), "validator_blocked");
  EXPECT_EQ(out.steps, (Steps{kPolicyLine, "extension: validator warn_only skipped",
                              "extension: validator pii error"}));
}

TEST_F(DecisionServiceTest, ExtensionFailureExplanationNamesTheStrategy) {
  Publish(R"({"providers":[{"name":"openai","weight":100,"expected_latency_ms":5}],
              "selection":{"strategy":"least_latency"},
              "post":[{"id":"bill","mode":"required"}]})");
  MapRequestContext ctx{{"detail_level", "detailed"}};
  DecideOutput out = Decide(ctx);
  EXPECT_EQ(ErrorTag(out.status), "post_processor_failed");
  EXPECT_EQ(out.steps,
            (Steps{"policy: t1/p1 v3, strategy least_latency", "extension: post bill error"}));
}

TEST_F(DecisionServiceTest, ExplanationStepOrderWithExtensions) {
  Publish(WithExtensions(R"("post":[{"id":"post_opt"}],
                            "validators":[{"id":"v_warn","on_fail":"warn"}],
                            "pre":[{"id":"p_opt"}])"));
  MapRequestContext ctx{{"explain", "true"}};
  DecideOutput out = Decide(ctx);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.steps, (Steps{kPolicyLine, "extension: pre p_opt skipped",
                              "extension: validator v_warn skipped", kWeightedOne,
                              "extension: post post_opt skipped"}));
}

TEST_F(DecisionServiceTest, DryRunNeverFailsOnExtensions) {
  Publish(WithExtensions(R"("pre":[{"id":"trim","mode":"required"}],
                            "validators":[{"id":"pii","on_fail":"block"}],
                            "post":[{"id":"bill","mode":"required"}])"));
  MapRequestContext ctx;
  EXPECT_EQ(Decide(ctx).status.code(), absl::StatusCode::kUnavailable);
  DecideOutput out = service_.DryRun(Call(ctx));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.provider_id, "openai");
  EXPECT_EQ(out.steps,
            (Steps{kPolicyLine, "extension: pre trim skipped", "extension: validator pii skipped",
                   kWeightedOne, "extension: post bill skipped"}));
}

TEST_F(DecisionServiceTest, BuiltinExtensionsExampleFailsOnItsRequiredPreProcessor) {
  // spec examples/extensions.json: pre `trim_prompt` is required, validator `pii_scan` blocks.
  Publish(R"({
    "version": "1.0",
    "providers": [{ "name": "anthropic", "weight": 70 }, { "name": "openai", "weight": 30 }],
    "pre": [
      { "id": "trim_prompt", "mode": "required", "timeout_ms": 80 },
      { "id": "attach_user_tier", "when": { "==": [{ "var": "channel" }, "web"] }, "retry": 1 }
    ],
    "validators": [
      { "id": "pii_scan", "on_fail": "block", "timeout_ms": 200 },
      { "id": "toxicity_check", "on_fail": "warn", "retry": 1 }
    ],
    "post": [{ "id": "annotate_billing", "mode": "optional" }]
  })",
          "t1", "extensions");
  MapRequestContext ctx{{"channel", "web"}};
  DecideOutput out = Decide(ctx, "t1", "extensions");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorTag(out.status), "pre_processor_failed");
  EXPECT_EQ(DetailMap(out.status)["extension_id"], "trim_prompt");
}

}  // namespace
}  // namespace router::service
