#pragma once
// Self-contained SHA-256 (FIPS 180-4), used for the policy document digest (POL §10 `sha256`)
// without linking libcrypto into router_policy. Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace router::policy {

// The 32-byte digest of `data`.
std::array<uint8_t, 32> Sha256(std::string_view data);

// The digest as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);

}  // namespace router::policy
