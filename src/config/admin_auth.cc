#include "config/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string>

#include "base/errors.h"

namespace router::config {
namespace {

constexpr std::string_view kAdminDisabled = "admin API disabled: no admin key configured";
constexpr std::string_view kInvalidKey = "missing or invalid API key";
constexpr std::string_view kTenantMismatch =
    "tenant_id mismatch between request and x-tenant-id header";
constexpr std::string_view kTenantEmpty = "tenant_id cannot be empty";
constexpr std::string_view kTenantPattern = "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$";
constexpr size_t kMaxEcho = 255;  // echoed identifiers are cut at 255 bytes (grpc-api.md §1)

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool AllIdChars(std::string_view s) {
  for (char c : s) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

absl::Status Unauthenticated(AuthFailure reason, AuthFailure* failure) {
  if (failure != nullptr) *failure = reason;
  if (reason == AuthFailure::kDisabled) {
    return MakeError(absl::StatusCode::kUnauthenticated, kAdminDisabled, tag::kAdminDisabled);
  }
  return MakeError(absl::StatusCode::kUnauthenticated, kInvalidKey, tag::kUnauthenticated);
}

// Extracts the key from one `authorization` value: `Bearer <key>`, scheme case-insensitive,
// separated by at least one space or tab. `Bearer`, `Bearer `, `Bearer\t` give an empty key.
AuthFailure ParseBearer(std::string_view value, std::string_view* key) {
  constexpr std::string_view kScheme = "bearer";
  if (value.size() < kScheme.size()) return AuthFailure::kBadScheme;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (ToLowerAscii(value[i]) != kScheme[i]) return AuthFailure::kBadScheme;
  }
  std::string_view rest = value.substr(kScheme.size());
  if (rest.empty()) return AuthFailure::kEmpty;                           // "Bearer"
  if (rest[0] != ' ' && rest[0] != '\t') return AuthFailure::kBadScheme;  // "Bearerxyz"
  size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) return AuthFailure::kEmpty;  // "Bearer ", "Bearer\t"
  *key = rest.substr(start);
  return AuthFailure::kNone;
}

}  // namespace

const char* ToString(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kDelete:
      return "delete";
  }
  return "read";
}

const char* ToString(AuthFailure f) {
  switch (f) {
    case AuthFailure::kNone:
      return "none";
    case AuthFailure::kDisabled:
      return "disabled";
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kRepeated:
      return "repeated";
    case AuthFailure::kEmpty:
      return "empty";
    case AuthFailure::kBadScheme:
      return "bad_scheme";
    case AuthFailure::kMalformed:
      return "malformed";
    case AuthFailure::kUnknownKey:
      return "unknown_key";
  }
  return "none";
}

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  // EVP_Digest with a static EVP_MD cannot fail short of memory exhaustion.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  Sha256Digest d = Sha256(data);
  std::string out;
  out.reserve(64);
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

bool ParseSha256Hex(std::string_view hex, Sha256Digest* out) {
  if (hex.size() != 64) return false;
  Sha256Digest d{};
  for (size_t i = 0; i < 64; ++i) {
    char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return false;
    }
    d[i / 2] = static_cast<unsigned char>((i % 2 == 0) ? (v << 4) : (d[i / 2] | v));
  }
  if (out != nullptr) *out = d;
  return true;
}

bool IsValidApiKey(std::string_view key) {
  if (key.size() < 8 || key.size() > 512) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool IsValidTenantId(std::string_view id) {
  return !id.empty() && id.size() <= 255 && id != "." && id != ".." && AllIdChars(id);
}

bool IsValidPrincipalName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && AllIdChars(name);
}

namespace internal {

size_t FindDigestConstantTime(const Sha256Digest& digest, const std::vector<Sha256Digest>& digests,
                              size_t* comparisons) {
  size_t found = digests.size();
  size_t compared = 0;
  // Every digest is compared, whatever matched before; the match index is selected with a mask
  // instead of a branch.
  for (size_t i = 0; i < digests.size(); ++i) {
    int diff = CRYPTO_memcmp(digest.data(), digests[i].data(), digest.size());
    size_t mask = size_t{0} - static_cast<size_t>(diff == 0);
    found = (found & ~mask) | (i & mask);
    ++compared;
  }
  if (comparisons != nullptr) *comparisons = compared;
  return found;
}

}  // namespace internal

AdminAuthenticator::AdminAuthenticator(const std::vector<AdminKeyConfig>& keys) {
  principals_.reserve(keys.size());
  digests_.reserve(keys.size());
  for (const AdminKeyConfig& k : keys) {
    Principal p;
    p.name = k.principal;
    p.grants = k.grants;
    if (!ParseSha256Hex(k.key_sha256, &p.key_digest)) {
      // Unreachable after validation. An all-zero digest still costs a comparison but no
      // SHA-256 output is known to equal it.
      p.key_digest.fill(0);
    }
    digests_.push_back(p.key_digest);
    principals_.push_back(std::move(p));
  }
}

absl::StatusOr<const Principal*> AdminAuthenticator::Authenticate(
    const std::vector<std::string>& x_api_key, const std::vector<std::string>& authorization,
    AuthFailure* failure) const {
  if (principals_.empty()) return Unauthenticated(AuthFailure::kDisabled, failure);

  std::string_view key;
  if (!x_api_key.empty()) {  // x-api-key wins whenever present, even empty
    if (x_api_key.size() > 1) return Unauthenticated(AuthFailure::kRepeated, failure);
    key = x_api_key[0];
    if (key.empty()) return Unauthenticated(AuthFailure::kEmpty, failure);
  } else if (!authorization.empty()) {
    if (authorization.size() > 1) return Unauthenticated(AuthFailure::kRepeated, failure);
    AuthFailure parsed = ParseBearer(authorization[0], &key);
    if (parsed != AuthFailure::kNone) return Unauthenticated(parsed, failure);
  } else {
    return Unauthenticated(AuthFailure::kMissing, failure);
  }
  if (!IsValidApiKey(key)) return Unauthenticated(AuthFailure::kMalformed, failure);

  size_t index = internal::FindDigestConstantTime(Sha256(key), digests_);
  if (index >= principals_.size()) return Unauthenticated(AuthFailure::kUnknownKey, failure);
  if (failure != nullptr) *failure = AuthFailure::kNone;
  return &principals_[index];
}

absl::StatusOr<std::string> ResolveTenant(std::string_view body_tenant,
                                          const std::vector<std::string>& x_tenant_id) {
  std::string_view header;
  for (const std::string& v : x_tenant_id) {
    if (v.empty()) continue;
    if (!header.empty() && header != v) {
      return MakeError(absl::StatusCode::kInvalidArgument, kTenantMismatch, tag::kInvalidRequest);
    }
    header = v;
  }
  std::string_view tenant = body_tenant;
  if (!body_tenant.empty()) {
    if (!header.empty() && header != body_tenant) {
      return MakeError(absl::StatusCode::kInvalidArgument, kTenantMismatch, tag::kInvalidRequest);
    }
  } else {
    tenant = header;
  }
  if (tenant.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, kTenantEmpty, tag::kInvalidRequest);
  }
  if (!IsValidTenantId(tenant)) {
    return MakeError(absl::StatusCode::kInvalidArgument, kTenantPattern, tag::kInvalidRequest);
  }
  return std::string(tenant);
}

absl::Status CheckPermission(const Principal& principal, std::string_view tenant,
                             Permission permission) {
  bool can_read = false;
  bool can_write = false;
  bool can_delete = false;
  for (const AdminGrant& g : principal.grants) {
    if (g.tenant != tenant && g.tenant != "*") continue;
    can_read = true;  // every role reads
    if (g.role == AdminRole::kOperator || g.role == AdminRole::kAdmin) can_write = true;
    if (g.role == AdminRole::kAdmin) can_delete = true;
  }
  bool allowed = false;
  switch (permission) {
    case Permission::kRead:
      allowed = can_read;
      break;
    case Permission::kWrite:
      allowed = can_write;
      break;
    case Permission::kDelete:
      allowed = can_delete;
      break;
  }
  if (allowed) return absl::OkStatus();
  std::string_view echoed = tenant.substr(0, kMaxEcho);
  std::string message = "permission denied: ";
  message += ToString(permission);
  message += " on tenant \"";
  message.append(echoed);
  message += "\" required";
  absl::Status status =
      MakeError(absl::StatusCode::kPermissionDenied, message, tag::kPermissionDenied);
  AddErrorDetail(status, "tenant_id", echoed);
  return status;
}

std::string ClaimedUser(std::string_view x_user_id) {
  if (x_user_id.empty() || x_user_id.size() > 128) return "";
  for (char c : x_user_id) {
    if (!IsIdChar(c) && c != '@') return "";
  }
  return std::string(x_user_id);
}

std::string ClaimedUser(const std::vector<std::string>& x_user_id) {
  if (x_user_id.size() != 1) return "";
  return ClaimedUser(x_user_id[0]);
}

}  // namespace router::config
