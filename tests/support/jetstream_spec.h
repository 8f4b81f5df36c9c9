#pragma once
// Expectations on the JetStream objects the router manages, read back through the raw
// `$JS.API.*` JSON API (nats-contracts.md §6.1 streams with their default settings; §12
// scenario 1). GoogleTest EXPECTs, so a caller sees every deviating field at once.
// Thread-safety: reentrant; the client must be connected.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/jetstream_client.h"

namespace router::testing {

// The five streams of §6.1 exist with the default subjects, limits, duplicate windows, discard
// policies, file storage, limits retention and one replica.
inline void ExpectSpecStreams(JetStreamClient& client) {
  struct Want {
    const char* name;
    std::vector<std::string> subjects;
    int64_t max_age_s;
    int64_t max_bytes;
    int64_t dup_s;
    const char* discard;
  };
  const std::vector<Want> wants = {
      {"CAF_ASSIGNMENTS", {"caf.exec.assign.v1"}, 3600, 1LL << 30, 120, "old"},
      {"CAF_RESULTS", {"caf.exec.result.v1"}, 86400, 1LL << 30, 120, "old"},
      {"CAF_ACKS", {"caf.exec.assign.v1.ack"}, 86400, 256LL << 20, 120, "old"},
      {"BEAMLINE_USAGE", {"beamline.usage.v1.metered"}, 604800, 4LL << 30, 600, "new"},
      {"ROUTER_DLQ",
       {"beamline.router.v1.decide.dlq", "caf.exec.result.v1.dlq", "caf.exec.assign.v1.ack.dlq"},
       1209600,
       1LL << 30,
       120,
       "old"},
  };
  for (const Want& w : wants) {
    JsonDoc info(client.Api(std::string("STREAM.INFO.") + w.name));
    if (!info.Has("/config")) {
      ADD_FAILURE() << w.name << ": no stream info";
      continue;
    }
    EXPECT_EQ(info.Strings("/config/subjects"), w.subjects) << w.name;
    EXPECT_EQ(info.Int("/config/max_age"), w.max_age_s * 1000000000LL) << w.name;
    EXPECT_EQ(info.Int("/config/max_bytes"), w.max_bytes) << w.name;
    EXPECT_EQ(info.Int("/config/duplicate_window"), w.dup_s * 1000000000LL) << w.name;
    EXPECT_EQ(info.Str("/config/storage"), "file") << w.name;
    EXPECT_EQ(info.Str("/config/retention"), "limits") << w.name;
    EXPECT_EQ(info.Str("/config/discard"), w.discard) << w.name;
    EXPECT_EQ(info.Int("/config/num_replicas"), 1) << w.name;
  }
}

}  // namespace router::testing
