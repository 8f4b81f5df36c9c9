// Crash durability of SqlitePolicyStore (POL §10 Persistence; reliability R9 shape): a write
// whose Upsert returned survives the writer being SIGKILLed right after.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "store/sqlite_policy_store.h"
#include "support/fake_clock.h"
#include "unit/store/store_test_util.h"

namespace router::store {
namespace {

using ::router::store::testing::MakeUpsert;
using ::router::store::testing::TempDir;

constexpr char kDoc[] = R"({"providers":[{"name":"openai","weight":1.0}],"version":"1.0"})";
constexpr char kDoc2[] = R"({"providers":[{"name":"mistral","weight":1.0}],"version":"1.0"})";

// Child exit codes when something fails before the kill (the parent reports which).
constexpr int kChildOpenFailed = 3;
constexpr int kChildUpsertFailed = 4;

TEST(SqliteDurabilityTest, UpsertSurvivesSigkillRightAfterReturn) {
  TempDir dir;
  const std::string path = dir.File("policies.db");
  // Seed v1 from the parent, so the child's write is an update on an existing file too.
  {
    SqliteOptions options;
    options.path = path;
    auto store = SqlitePolicyStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Upsert(MakeUpsert("acme", "seed", kDoc)).ok());
  }

  pid_t pid = fork();
  ASSERT_GE(pid, 0) << "fork failed";
  if (pid == 0) {
    // Child: no gtest assertions here; report through the exit code or die by SIGKILL.
    router::testing::FakeClock clock(1'234'567);
    SqliteOptions options;
    options.path = path;
    options.clock = &clock;
    auto store = SqlitePolicyStore::Open(options);
    if (!store.ok()) _exit(kChildOpenFailed);
    if (!(*store)->Upsert(MakeUpsert("acme", "crash", kDoc)).ok()) _exit(kChildUpsertFailed);
    if (!(*store)->Upsert(MakeUpsert("acme", "seed", kDoc2)).ok()) _exit(kChildUpsertFailed);
    raise(SIGKILL);  // no destructor, no checkpoint, no close
    _exit(0);
  }

  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with code " << WEXITSTATUS(wstatus);
  ASSERT_EQ(WTERMSIG(wstatus), SIGKILL);

  SqliteOptions options;
  options.path = path;
  options.integrity_check = IntegrityCheck::kFull;
  auto reopened = SqlitePolicyStore::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  SqlitePolicyStore& store = **reopened;

  auto crash = store.Get("acme", "crash");
  ASSERT_TRUE(crash.ok()) << crash.status();
  EXPECT_EQ(crash->version, 1);
  EXPECT_EQ(crash->document, kDoc);
  EXPECT_EQ(crash->updated_at_ms, 1'234'567);
  auto seed = store.Get("acme", "seed");
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(seed->version, 2);
  EXPECT_EQ(seed->document, kDoc2);

  auto audit = store.ListAudit(AuditQuery{});
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ((*audit)[1].resource, "policy/crash");
  EXPECT_EQ((*audit)[1].after_version, 1);
  EXPECT_EQ((*audit)[1].ts_ms, 1'234'567);
  EXPECT_EQ((*audit)[2].resource, "policy/seed");
  EXPECT_EQ((*audit)[2].before_version, 1);
  EXPECT_EQ((*audit)[2].after_version, 2);
}

}  // namespace
}  // namespace router::store
