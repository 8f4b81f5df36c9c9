#pragma once
// NKey helpers for `nats.auth.nkey_seed_file` (nats-contracts.md §8, configuration.md [nats]):
// cnats signs the server nonce from the seed file itself but needs the public key too, which
// it cannot derive; this unit derives it (Ed25519 via libcrypto) from the encoded seed.
// Encoding: base32 (RFC 4648, no padding) of prefix byte(s) + 32-byte key + CRC-16/XMODEM
// (little endian), as the NATS nkeys format defines. Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace router::nats_adapter {

inline constexpr uint8_t kNkeyPrefixUser = 20 << 3;  // public keys starting with 'U'

// The encoded public key ("U...") of an encoded seed ("SU..."). INVALID_ARGUMENT when the seed
// is malformed (alphabet, length, checksum, prefix).
absl::StatusOr<std::string> NkeyPublicKeyFromSeed(std::string_view seed);

// The first seed in a seed file (a line or token starting with 'S'); whitespace and other
// lines are ignored. NOT_FOUND / FAILED_PRECONDITION when unreadable or absent.
absl::StatusOr<std::string> ReadNkeySeedFile(const std::string& path);

// Encodes a raw 32-byte Ed25519 seed with the given public-key prefix (tests and tooling).
std::string EncodeNkeySeed(uint8_t public_prefix, const std::array<uint8_t, 32>& raw_seed);

}  // namespace router::nats_adapter
