// Stream specs and comparison (nats-contracts.md §6.1; configuration.md streams table). The
// create/verify round trip against a server is an integration test.

#include "nats/streams.h"

#include <gtest/gtest.h>

namespace router::nats_adapter {
namespace {

constexpr int64_t kNs = 1000000000LL;

TEST(StreamSpecsTest, DefaultsAndDerivedSubjects) {
  config::NatsConfig c;
  std::vector<StreamSpec> specs = StreamSpecs(c);
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].name, "CAF_ASSIGNMENTS");
  EXPECT_EQ(specs[0].subjects, std::vector<std::string>{"caf.exec.assign.v1"});
  EXPECT_EQ(specs[0].max_age_s, 3600);
  EXPECT_EQ(specs[0].max_bytes, 1LL << 30);
  EXPECT_EQ(specs[1].name, "CAF_RESULTS");
  EXPECT_EQ(specs[1].subjects, std::vector<std::string>{"caf.exec.result.v1"});
  EXPECT_EQ(specs[2].name, "CAF_ACKS");
  EXPECT_EQ(specs[2].max_bytes, 256LL << 20);
  EXPECT_EQ(specs[3].name, "BEAMLINE_USAGE");
  EXPECT_TRUE(specs[3].discard_new);
  EXPECT_EQ(specs[3].duplicate_window_s, 600);
  EXPECT_EQ(specs[3].max_age_s, 604800);
  EXPECT_EQ(specs[4].name, "ROUTER_DLQ");
  EXPECT_EQ(specs[4].subjects,
            (std::vector<std::string>{"beamline.router.v1.decide.dlq", "caf.exec.result.v1.dlq",
                                      "caf.exec.assign.v1.ack.dlq"}));
  EXPECT_EQ(specs[4].max_age_s, 1209600);
  for (const auto& s : specs) {
    EXPECT_EQ(s.replicas, 1);
    if (s.role != "usage") {
      EXPECT_FALSE(s.discard_new);
      EXPECT_EQ(s.duplicate_window_s, 120);
    }
  }
}

TEST(StreamSpecsTest, ConfiguredValuesWin) {
  config::NatsConfig c;
  c.decide.subject = "x.decide";
  c.jetstream.replicas = 3;
  c.jetstream.streams.assignments.subjects = {"caf.exec.assign.v1", "caf.exec.assign.eu.*"};
  c.jetstream.streams.usage.max_age_s = 2592000;
  std::vector<StreamSpec> specs = StreamSpecs(c);
  EXPECT_EQ(specs[0].subjects.size(), 2u);
  EXPECT_EQ(specs[3].max_age_s, 2592000);
  EXPECT_EQ(specs[4].subjects[0], "x.decide.dlq");
  EXPECT_EQ(specs[2].replicas, 3);
}

jsStreamConfig Matching(const StreamSpec& spec, std::vector<const char*>& subjects) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  subjects.clear();
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Retention = js_LimitsPolicy;
  cfg.Storage = js_FileStorage;
  cfg.Discard = spec.discard_new ? js_DiscardNew : js_DiscardOld;
  cfg.MaxAge = spec.max_age_s * kNs;
  cfg.MaxBytes = spec.max_bytes;
  cfg.Duplicates = spec.duplicate_window_s * kNs;
  cfg.Replicas = spec.replicas;
  return cfg;
}

TEST(CompareStreamTest, IdenticalStreamHasNoDrift) {
  for (const StreamSpec& spec : StreamSpecs(config::NatsConfig{})) {
    std::vector<const char*> subjects;
    StreamCheck check = CompareStream(spec, Matching(spec, subjects));
    EXPECT_TRUE(check.missing_subjects.empty()) << spec.name;
    EXPECT_TRUE(check.drift.empty()) << spec.name;
  }
}

TEST(CompareStreamTest, ReportsMissingSubjectsAndEveryDrift) {
  const StreamSpec spec = StreamSpecs(config::NatsConfig{})[4];  // dlq, three subjects
  std::vector<const char*> subjects;
  jsStreamConfig cfg = Matching(spec, subjects);
  const char* partial[] = {"beamline.router.v1.decide.dlq", "caf.exec.*.v1.dlq", "other.x"};
  cfg.Subjects = partial;
  cfg.SubjectsLen = 3;
  cfg.MaxAge = 60 * kNs;
  cfg.MaxBytes = 5;
  cfg.Duplicates = 30 * kNs;
  cfg.Storage = js_MemoryStorage;
  cfg.Retention = js_WorkQueuePolicy;
  cfg.Discard = js_DiscardNew;
  cfg.Replicas = 3;
  StreamCheck check = CompareStream(spec, cfg);
  // caf.exec.result.v1.dlq is covered by the wildcard; the ack DLQ subject is not.
  EXPECT_EQ(check.missing_subjects, std::vector<std::string>{"caf.exec.assign.v1.ack.dlq"});
  EXPECT_EQ(check.drift.size(), 8u);
  const std::string all = [&] {
    std::string s;
    for (const auto& d : check.drift) s += d + "\n";
    return s;
  }();
  EXPECT_NE(all.find("max_age: want 1209600s, have 60s"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate_window: want 120s, have 30s"), std::string::npos) << all;
  EXPECT_NE(all.find("subjects: extra caf.exec.*.v1.dlq,other.x"), std::string::npos) << all;
  EXPECT_NE(all.find("num_replicas: want 1, have 3"), std::string::npos) << all;
}

}  // namespace
}  // namespace router::nats_adapter
