// AssignmentLookup responder logic and request body (nats-contracts.md §3.9 S10, §7.2): only
// the holder of a record answers, tenant-scoped, assignment_id wins over request_id; malformed
// requests and misses stay silent. Without a connection, Subscribe and Ask fail softly.

#include "nats/assignment_lookup.h"

#include <gtest/gtest.h>

#include "nats/log_sink.h"
#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

class AssignmentLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::NatsConfig c;
    c.url = "nats://127.0.0.1:1";
    auto conn = NatsConnection::Create(c, "node-a", stats_, NullLogSink());
    ASSERT_TRUE(conn.ok()) << conn.status();
    connection_ = std::move(conn).value();
    service::AssignmentRecord r;
    r.assignment_id = "a-1";
    r.request_id = "req-1";
    r.tenant_id = "acme";
    r.provider_id = "p1";
    ASSERT_TRUE(store_.Create(r));
    store_.MarkPublished("a-1", 7);
    lookup_ = std::make_unique<AssignmentLookup>(*connection_, store_);
  }

  router::testing::FakeClock clock_;
  service::CorrelationStore store_{service::CorrelationStoreOptions{}, clock_};
  NatsStats stats_;
  std::unique_ptr<NatsConnection> connection_;
  std::unique_ptr<AssignmentLookup> lookup_;
};

TEST_F(AssignmentLookupTest, OwnerAnswersWithTheRecord) {
  auto by_id = lookup_->Answer(R"({"tenant_id":"acme","assignment_id":"a-1"})");
  ASSERT_TRUE(by_id.has_value());
  auto record = service::AssignmentRecordFromJson(*by_id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->assignment_id, "a-1");
  EXPECT_EQ(record->state, service::AssignmentState::kPublished);
  EXPECT_EQ(record->stream_seq, 7);
  auto by_request = lookup_->Answer(R"({"tenant_id":"acme","request_id":"req-1"})");
  ASSERT_TRUE(by_request.has_value());
  EXPECT_EQ(*by_request, *by_id);
}

TEST_F(AssignmentLookupTest, OthersStaySilent) {
  EXPECT_FALSE(lookup_->Answer(R"({"tenant_id":"beta","assignment_id":"a-1"})").has_value());
  EXPECT_FALSE(lookup_->Answer(R"({"tenant_id":"acme","assignment_id":"a-2"})").has_value());
  // assignment_id wins over request_id.
  EXPECT_FALSE(lookup_->Answer(R"({"tenant_id":"acme","assignment_id":"a-2","request_id":"req-1"})")
                   .has_value());
  EXPECT_FALSE(lookup_->Answer(R"({"assignment_id":"a-1"})").has_value());
  EXPECT_FALSE(lookup_->Answer(R"({"tenant_id":"acme"})").has_value());
  EXPECT_FALSE(lookup_->Answer("{bad json").has_value());
  EXPECT_FALSE(lookup_->Answer("[]").has_value());
  clock_.Advance(std::chrono::seconds(3600));  // expired
  EXPECT_FALSE(lookup_->Answer(R"({"tenant_id":"acme","assignment_id":"a-1"})").has_value());
}

TEST_F(AssignmentLookupTest, RequestBody) {
  EXPECT_EQ(AssignmentLookup::RequestBody("acme", "a-1", "req-1"),
            R"({"tenant_id":"acme","assignment_id":"a-1"})");
  EXPECT_EQ(AssignmentLookup::RequestBody("acme", "", "req \"1\""),
            R"({"tenant_id":"acme","request_id":"req \"1\""})");
}

TEST_F(AssignmentLookupTest, NoConnectionFailsSoftly) {
  EXPECT_FALSE(lookup_->Subscribe().ok());
  EXPECT_FALSE(lookup_->Subscribed());
  EXPECT_FALSE(lookup_->Ask("acme", "a-1", "").has_value());
  lookup_->Close();  // idempotent, nothing to drain
}

}  // namespace
}  // namespace router::nats_adapter
