// Admin authentication, effective tenant and RBAC: grpc-api.md §5.1, §5.3, §5.4 and the
// acceptance scenarios 20 (credentials) and 24 (RBAC) of §13.

#include "config/admin_auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/errors.h"

namespace router::config {
namespace {

using Values = std::vector<std::string>;

constexpr char kAdminKey[] = "admin-key-0123456789";
constexpr char kOperatorKey[] = "operator-key-0123456789";
constexpr char kViewerKey[] = "viewer-key-0123456789";

AdminKeyConfig Key(const std::string& principal, const std::string& key,
                   std::vector<AdminGrant> grants) {
  AdminKeyConfig k;
  k.principal = principal;
  k.key_sha256 = Sha256Hex(key);
  k.grants = std::move(grants);
  return k;
}

AdminAuthenticator ThreePrincipals() {
  return AdminAuthenticator({Key("root", kAdminKey, {{"*", AdminRole::kAdmin}}),
                             Key("ops", kOperatorKey, {{"test_tenant", AdminRole::kOperator}}),
                             Key("reader", kViewerKey, {{"test_tenant", AdminRole::kViewer}})});
}

void ExpectInvalidKey(const absl::StatusOr<const Principal*>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(StdView(r.status().message()), "missing or invalid API key");
  EXPECT_EQ(ErrorTag(r.status()), "unauthenticated");
}

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Digest d{};
  EXPECT_TRUE(ParseSha256Hex(Sha256Hex("abc"), &d));
  EXPECT_EQ(d, Sha256("abc"));
  EXPECT_FALSE(ParseSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                              nullptr));  // lowercase only
  EXPECT_FALSE(ParseSha256Hex("abc", nullptr));
}

// §5.1: no principal -> every admin call UNAUTHENTICATED admin_disabled, before anything else.
TEST(AdminAuthenticatorTest, NoPrincipalMeansAdminDisabled) {
  AdminAuthenticator auth({});
  EXPECT_FALSE(auth.enabled());
  for (const auto& [keys, authz] : std::vector<std::pair<Values, Values>>{
           {{}, {}}, {{kAdminKey}, {}}, {{}, {std::string("Bearer ") + kAdminKey}}}) {
    AuthFailure failure = AuthFailure::kNone;
    auto r = auth.Authenticate(keys, authz, &failure);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(StdView(r.status().message()), "admin API disabled: no admin key configured");
    EXPECT_EQ(ErrorTag(r.status()), "admin_disabled");
    EXPECT_EQ(failure, AuthFailure::kDisabled);
  }
}

TEST(AdminAuthenticatorTest, XApiKeyIdentifiesEachPrincipal) {
  AdminAuthenticator auth = ThreePrincipals();
  ASSERT_TRUE(auth.enabled());
  auto root = auth.Authenticate({kAdminKey}, {});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)->name, "root");
  auto ops = auth.Authenticate({kOperatorKey}, {});
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ((*ops)->name, "ops");
  auto reader = auth.Authenticate({kViewerKey}, {});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->name, "reader");
}

// §5.1: `authorization: Bearer <key>`, scheme case-insensitive, >= 1 space or tab.
TEST(AdminAuthenticatorTest, BearerSchemeCaseInsensitiveWithSpacesOrTabs) {
  AdminAuthenticator auth = ThreePrincipals();
  for (const std::string& value :
       {std::string("Bearer ") + kAdminKey, std::string("bearer ") + kAdminKey,
        std::string("BEARER\t") + kAdminKey, std::string("BeArEr  \t ") + kAdminKey}) {
    auto r = auth.Authenticate({}, {value});
    ASSERT_TRUE(r.ok()) << value;
    EXPECT_EQ((*r)->name, "root");
  }
}

// Scenario 20: no metadata, `wrong-key`, empty x-api-key, `Bearer`, `Bearer `, `Bearer  `,
// `Bearer\t` -> UNAUTHENTICATED `missing or invalid API key`.
TEST(AdminAuthenticatorTest, Scenario20CredentialsAreRejected) {
  AdminAuthenticator auth = ThreePrincipals();
  ExpectInvalidKey(auth.Authenticate({}, {}));
  ExpectInvalidKey(auth.Authenticate({"wrong-key"}, {}));
  ExpectInvalidKey(auth.Authenticate({""}, {}));
  for (const char* value : {"Bearer", "Bearer ", "Bearer  ", "Bearer\t", "bearer \t "}) {
    AuthFailure failure = AuthFailure::kNone;
    ExpectInvalidKey(auth.Authenticate({}, {value}, &failure));
    EXPECT_EQ(failure, AuthFailure::kEmpty) << value;
  }
  ExpectInvalidKey(auth.Authenticate({}, {"Bearer wrong-key"}));
}

TEST(AdminAuthenticatorTest, FailureReasonsAreReportedForLogsOnly) {
  AdminAuthenticator auth = ThreePrincipals();
  struct Case {
    Values keys;
    Values authz;
    AuthFailure want;
  };
  const std::vector<Case> cases = {
      {{}, {}, AuthFailure::kMissing},
      {{kAdminKey, kAdminKey}, {}, AuthFailure::kRepeated},
      {{},
       {std::string("Bearer ") + kAdminKey, std::string("Bearer ") + kAdminKey},
       AuthFailure::kRepeated},
      {{""}, {}, AuthFailure::kEmpty},
      {{}, {kAdminKey}, AuthFailure::kBadScheme},  // bare key
      {{}, {std::string("Basic ") + kAdminKey}, AuthFailure::kBadScheme},
      {{}, {std::string("Bearer") + kAdminKey}, AuthFailure::kBadScheme},  // no separator
      {{"short"}, {}, AuthFailure::kMalformed},
      {{"unknown-key-0123456789"}, {}, AuthFailure::kUnknownKey},
  };
  for (const Case& c : cases) {
    AuthFailure failure = AuthFailure::kNone;
    ExpectInvalidKey(auth.Authenticate(c.keys, c.authz, &failure));
    EXPECT_EQ(failure, c.want) << ToString(c.want);
  }
}

// §5.1: x-api-key is used whenever present, even empty; authorization is then ignored.
TEST(AdminAuthenticatorTest, XApiKeyWinsWheneverPresent) {
  AdminAuthenticator auth = ThreePrincipals();
  std::string bearer = std::string("Bearer ") + kAdminKey;
  ExpectInvalidKey(auth.Authenticate({""}, {bearer}));
  ExpectInvalidKey(auth.Authenticate({"wrong-key-000"}, {bearer}));
  auto r = auth.Authenticate({kViewerKey}, {bearer});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->name, "reader");
}

// §5.1: valid key = 8-512 bytes of visible ASCII, even if a digest of another key matches.
TEST(AdminAuthenticatorTest, KeyLengthAndCharset) {
  const std::string k8(8, 'a');
  const std::string k512(512, 'b');
  const std::string k7(7, 'c');
  const std::string k513(513, 'd');
  const std::string with_space = "abcd efgh";
  const std::string with_del = std::string("abcdefgh") + '\x7f';
  const std::string utf8 = "abcdefgh\xc3\xa9";
  std::vector<AdminKeyConfig> keys;
  for (const std::string* k : {&k8, &k512, &k7, &k513, &with_space, &with_del, &utf8}) {
    keys.push_back(Key("p" + std::to_string(keys.size()), *k, {{"*", AdminRole::kViewer}}));
  }
  AdminAuthenticator auth(keys);
  EXPECT_TRUE(auth.Authenticate({k8}, {}).ok());
  EXPECT_TRUE(auth.Authenticate({k512}, {}).ok());
  EXPECT_TRUE(auth.Authenticate({}, {"Bearer " + k512}).ok());
  for (const std::string* bad : {&k7, &k513, &with_space, &with_del, &utf8}) {
    AuthFailure failure = AuthFailure::kNone;
    ExpectInvalidKey(auth.Authenticate({*bad}, {}, &failure));
    EXPECT_EQ(failure, AuthFailure::kMalformed);
  }
  // A trailing blank after a Bearer key is part of the key, hence invalid.
  ExpectInvalidKey(auth.Authenticate({}, {"Bearer " + k8 + " "}));
}

// §5.1: the scan compares every configured digest and never stops at the first match.
TEST(ConstantTimeScanTest, EveryDigestIsComparedWhereverTheMatchIs) {
  std::vector<Sha256Digest> digests;
  for (int i = 0; i < 7; ++i) digests.push_back(Sha256("key-" + std::to_string(i)));
  for (size_t want = 0; want < digests.size(); ++want) {
    size_t comparisons = 0;
    EXPECT_EQ(internal::FindDigestConstantTime(digests[want], digests, &comparisons), want);
    EXPECT_EQ(comparisons, digests.size());
  }
  size_t comparisons = 0;
  EXPECT_EQ(internal::FindDigestConstantTime(Sha256("other"), digests, &comparisons),
            digests.size());
  EXPECT_EQ(comparisons, digests.size());
  EXPECT_EQ(internal::FindDigestConstantTime(Sha256("x"), {}, &comparisons), 0u);
  EXPECT_EQ(comparisons, 0u);
}

// §5.3 effective tenant.
TEST(ResolveTenantTest, BodyElseHeader) {
  EXPECT_EQ(*ResolveTenant("acme", {}), "acme");
  EXPECT_EQ(*ResolveTenant("", {"acme"}), "acme");
  EXPECT_EQ(*ResolveTenant("acme", {"acme"}), "acme");
  EXPECT_EQ(*ResolveTenant("acme", {""}), "acme");          // an empty header is "not set"
  EXPECT_EQ(*ResolveTenant("", {"acme", "acme"}), "acme");  // repeated, same value
  EXPECT_EQ(*ResolveTenant(std::string(255, 'a'), {}), std::string(255, 'a'));
}

TEST(ResolveTenantTest, Errors) {
  auto expect = [](const absl::StatusOr<std::string>& r, std::string_view message) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(StdView(r.status().message()), message);
    EXPECT_EQ(ErrorTag(r.status()), "invalid_request");
  };
  const std::string mismatch = "tenant_id mismatch between request and x-tenant-id header";
  const std::string empty = "tenant_id cannot be empty";
  const std::string pattern = "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$";
  expect(ResolveTenant("acme", {"globex"}), mismatch);
  expect(ResolveTenant("", {"acme", "globex"}), mismatch);
  expect(ResolveTenant("", {}), empty);
  expect(ResolveTenant("", {""}), empty);
  expect(ResolveTenant("*", {}), pattern);  // `*` is never a request tenant
  expect(ResolveTenant("", {"*"}), pattern);
  expect(ResolveTenant(".", {}), pattern);
  expect(ResolveTenant("..", {}), pattern);
  expect(ResolveTenant("a b", {}), pattern);
  expect(ResolveTenant(std::string(256, 'a'), {}), pattern);
}

// §5.4 matrix: admin rwd, operator rw, viewer r.
TEST(CheckPermissionTest, RoleMatrix) {
  struct Row {
    AdminRole role;
    bool read, write, del;
  };
  for (const Row& row :
       {Row{AdminRole::kAdmin, true, true, true}, Row{AdminRole::kOperator, true, true, false},
        Row{AdminRole::kViewer, true, false, false}}) {
    for (const std::string& grant_tenant : {std::string("t1"), std::string("*")}) {
      Principal p{"p", {}, {{grant_tenant, row.role}}};
      EXPECT_EQ(CheckPermission(p, "t1", Permission::kRead).ok(), row.read);
      EXPECT_EQ(CheckPermission(p, "t1", Permission::kWrite).ok(), row.write);
      EXPECT_EQ(CheckPermission(p, "t1", Permission::kDelete).ok(), row.del);
    }
  }
}

TEST(CheckPermissionTest, UnionOfTenantAndWildcardRoles) {
  Principal p{"p", {}, {{"*", AdminRole::kViewer}, {"acme", AdminRole::kAdmin}}};
  EXPECT_TRUE(CheckPermission(p, "acme", Permission::kDelete).ok());
  EXPECT_TRUE(CheckPermission(p, "globex", Permission::kRead).ok());
  EXPECT_FALSE(CheckPermission(p, "globex", Permission::kWrite).ok());
}

TEST(CheckPermissionTest, DeniedMessageAndTag) {
  Principal p{"p", {}, {{"other_tenant", AdminRole::kAdmin}}};
  absl::Status s = CheckPermission(p, "test_tenant", Permission::kWrite);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StdView(s.message()), "permission denied: write on tenant \"test_tenant\" required");
  EXPECT_EQ(ErrorTag(s), "permission_denied");
  absl::Status r = CheckPermission(p, "test_tenant", Permission::kRead);
  EXPECT_EQ(StdView(r.message()), "permission denied: read on tenant \"test_tenant\" required");
  absl::Status d = CheckPermission(p, "test_tenant", Permission::kDelete);
  EXPECT_EQ(StdView(d.message()), "permission denied: delete on tenant \"test_tenant\" required");
}

// Scenario 24: RBAC on test_tenant (Upsert = write, Get/List/DryRun = read, Delete = delete).
TEST(CheckPermissionTest, Scenario24) {
  AdminAuthenticator auth(
      {Key("admin", kAdminKey, {{"test_tenant", AdminRole::kAdmin}}),
       Key("operator", kOperatorKey, {{"test_tenant", AdminRole::kOperator}}),
       Key("viewer", kViewerKey, {{"test_tenant", AdminRole::kViewer}}),
       Key("nobody", "nobody-key-0123456789", {{"unrelated", AdminRole::kViewer}}),
       Key("elsewhere", "elsewhere-key-0123456789", {{"other_tenant", AdminRole::kAdmin}})});
  auto who = [&](const std::string& key) { return *auth.Authenticate({key}, {}).value(); };
  const std::string tenant = "test_tenant";

  const Principal& admin = who(kAdminKey);
  EXPECT_TRUE(CheckPermission(admin, tenant, Permission::kWrite).ok());   // upsert
  EXPECT_TRUE(CheckPermission(admin, tenant, Permission::kRead).ok());    // get, list
  EXPECT_TRUE(CheckPermission(admin, tenant, Permission::kDelete).ok());  // delete

  const Principal& op = who(kOperatorKey);
  EXPECT_TRUE(CheckPermission(op, tenant, Permission::kWrite).ok());
  EXPECT_EQ(CheckPermission(op, tenant, Permission::kDelete).code(),
            absl::StatusCode::kPermissionDenied);

  const Principal& viewer = who(kViewerKey);
  EXPECT_TRUE(CheckPermission(viewer, tenant, Permission::kRead).ok());  // get, list, dry-run
  EXPECT_EQ(CheckPermission(viewer, tenant, Permission::kWrite).code(),
            absl::StatusCode::kPermissionDenied);

  for (const char* key : {"nobody-key-0123456789", "elsewhere-key-0123456789"}) {
    const Principal& p = who(key);
    for (Permission perm : {Permission::kRead, Permission::kWrite, Permission::kDelete}) {
      EXPECT_EQ(CheckPermission(p, tenant, perm).code(), absl::StatusCode::kPermissionDenied);
    }
  }
  // x-user-id changes nothing: it is only recorded.
  EXPECT_EQ(ClaimedUser("root"), "root");
  EXPECT_EQ(CheckPermission(viewer, tenant, Permission::kWrite).code(),
            absl::StatusCode::kPermissionDenied);
}

// §5.1: x-user-id recorded as claimed_user if it matches ^[A-Za-z0-9_.@-]{1,128}$, else "".
TEST(ClaimedUserTest, Pattern) {
  EXPECT_EQ(ClaimedUser("alice@example.com"), "alice@example.com");
  EXPECT_EQ(ClaimedUser("a_b.c-d"), "a_b.c-d");
  EXPECT_EQ(ClaimedUser(std::string(128, 'u')), std::string(128, 'u'));
  EXPECT_EQ(ClaimedUser(std::string(129, 'u')), "");
  EXPECT_EQ(ClaimedUser(""), "");
  EXPECT_EQ(ClaimedUser("bad user"), "");
  EXPECT_EQ(ClaimedUser("x;drop"), "");
  EXPECT_EQ(ClaimedUser(Values{"bob"}), "bob");
  EXPECT_EQ(ClaimedUser(Values{}), "");
  EXPECT_EQ(ClaimedUser(Values{"bob", "eve"}), "");
}

TEST(ValidatorsTest, TenantAndPrincipalNames) {
  EXPECT_TRUE(IsValidTenantId("acme"));
  EXPECT_FALSE(IsValidTenantId("."));
  EXPECT_FALSE(IsValidTenantId(".."));
  EXPECT_TRUE(IsValidTenantId("..."));
  EXPECT_FALSE(IsValidTenantId("*"));
  EXPECT_TRUE(IsValidPrincipalName(std::string(64, 'p')));
  EXPECT_FALSE(IsValidPrincipalName(std::string(65, 'p')));
  EXPECT_FALSE(IsValidPrincipalName("a b"));
  EXPECT_FALSE(IsValidPrincipalName(""));
}

}  // namespace
}  // namespace router::config
