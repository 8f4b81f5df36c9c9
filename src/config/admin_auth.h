#pragma once
// Admin API authentication and RBAC (grpc-api.md §5.1 authentication, §5.3 effective tenant,
// §5.4 RBAC), built from the configured principals (configuration.md §2 [admin]).
//
// Credentials arrive as the raw values of the `x-api-key` / `authorization` request headers
// (a header may be repeated, hence vectors); this unit knows nothing about gRPC. A presented key
// is hashed with SHA-256 and compared with EVERY configured digest in constant time; the scan
// never stops at the first match. Every credential failure is the same UNAUTHENTICATED
// `missing or invalid API key` (no oracle); the precise cause is only returned through the
// optional AuthFailure out-parameter, for logs and counters.
//
// Thread-safety: AdminAuthenticator is immutable after construction; every method is const and
// safe to call from any number of threads. The free functions are pure.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "config/config.h"

namespace router::config {

using Sha256Digest = std::array<unsigned char, 32>;

// Admin permissions (grpc-api.md §5.4).
enum class Permission { kRead, kWrite, kDelete };
const char* ToString(Permission p);  // "read" | "write" | "delete"

// An authenticated admin identity. Grants name a tenant id or "*" (all tenants).
struct Principal {
  std::string name;
  Sha256Digest key_digest{};
  std::vector<AdminGrant> grants;
};

// Why authentication failed; for logs/metrics only, never for the client.
enum class AuthFailure {
  kNone,
  kDisabled,    // no principal configured
  kMissing,     // neither x-api-key nor authorization
  kRepeated,    // the credential header was sent more than once
  kEmpty,       // empty x-api-key, or `Bearer` with no key
  kBadScheme,   // authorization without the Bearer scheme (bare key, Basic, ...)
  kMalformed,   // not 8..512 bytes of visible ASCII
  kUnknownKey,  // well-formed, matches no principal
};
const char* ToString(AuthFailure f);

// ---------------------------------------------------------------- helpers shared with the loader
Sha256Digest Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);  // 64 lowercase hex
// Parses exactly 64 lowercase hex digits.
bool ParseSha256Hex(std::string_view hex, Sha256Digest* out);
// A valid admin key: 8..512 bytes, each visible ASCII (0x21..0x7E).
bool IsValidApiKey(std::string_view key);
// ID of grpc-api.md §1: ^[A-Za-z0-9_.-]{1,255}$ and not "." or "..".
bool IsValidTenantId(std::string_view id);
// Principal name: ^[A-Za-z0-9_.-]{1,64}$.
bool IsValidPrincipalName(std::string_view name);

namespace internal {
// Compares `digest` with every entry of `digests` using CRYPTO_memcmp, never stopping early.
// Returns the index of the match (the last one if several) or `digests.size()` when none.
// `*comparisons` (optional) receives the number of comparisons made: always digests.size().
size_t FindDigestConstantTime(const Sha256Digest& digest, const std::vector<Sha256Digest>& digests,
                              size_t* comparisons = nullptr);
}  // namespace internal

class AdminAuthenticator {
 public:
  // `keys` must have passed config validation (principals unique, digests valid and distinct);
  // an entry whose digest does not parse can never match.
  explicit AdminAuthenticator(const std::vector<AdminKeyConfig>& keys);

  // True when at least one principal is configured.
  bool enabled() const { return !principals_.empty(); }
  const std::vector<Principal>& principals() const { return principals_; }

  // §5.1. `x_api_key` / `authorization` hold every value received for that header.
  // Returns the principal (owned by this authenticator) or UNAUTHENTICATED:
  //  - no principal: `admin API disabled: no admin key configured`, tag admin_disabled;
  //  - anything else: `missing or invalid API key`, tag unauthenticated.
  absl::StatusOr<const Principal*> Authenticate(const std::vector<std::string>& x_api_key,
                                                const std::vector<std::string>& authorization,
                                                AuthFailure* failure = nullptr) const;

 private:
  std::vector<Principal> principals_;
  std::vector<Sha256Digest> digests_;  // digests_[i] belongs to principals_[i]
};

// §5.3: body `tenant_id` if non-empty, else the `x-tenant-id` header. INVALID_ARGUMENT, tag
// invalid_request, with `tenant_id mismatch between request and x-tenant-id header` (both set
// and different; also several different header values), `tenant_id cannot be empty` or
// `tenant_id must match ^[A-Za-z0-9_.-]{1,255}$` (`*`, `.` and `..` included).
absl::StatusOr<std::string> ResolveTenant(std::string_view body_tenant,
                                          const std::vector<std::string>& x_tenant_id);

// §5.4: permissions on `tenant` = union of the principal's roles for `tenant` and for "*".
// PERMISSION_DENIED, tag permission_denied,
// `permission denied: <read|write|delete> on tenant "<tenant_id>" required`.
absl::Status CheckPermission(const Principal& principal, std::string_view tenant,
                             Permission permission);

// §5.1: the `x-user-id` value if it matches ^[A-Za-z0-9_.@-]{1,128}$, else "".
std::string ClaimedUser(std::string_view x_user_id);
// Same over every received value: exactly one value is required, else "".
std::string ClaimedUser(const std::vector<std::string>& x_user_id);

}  // namespace router::config
