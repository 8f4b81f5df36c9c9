#include "nats/nkey.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace router::nats_adapter {
namespace {

constexpr uint8_t kPrefixSeed = 18 << 3;  // 'S'
constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint16_t Crc16(const uint8_t* data, size_t n) {
  uint16_t crc = 0;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint16_t>(data[i]) << 8;
    for (int b = 0; b < 8; ++b) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string Base32Encode(const std::vector<uint8_t>& data) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

bool Base32Decode(std::string_view text, std::vector<uint8_t>* out) {
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      return false;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out->push_back(static_cast<uint8_t>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  return true;
}

std::string EncodeWithChecksum(std::vector<uint8_t> bytes) {
  const uint16_t crc = Crc16(bytes.data(), bytes.size());
  bytes.push_back(static_cast<uint8_t>(crc & 0xFF));
  bytes.push_back(static_cast<uint8_t>(crc >> 8));
  return Base32Encode(bytes);
}

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError("malformed nkey seed: " + std::string(why));
}

}  // namespace

absl::StatusOr<std::string> NkeyPublicKeyFromSeed(std::string_view seed) {
  std::vector<uint8_t> raw;
  if (!Base32Decode(seed, &raw)) return Malformed("not base32");
  if (raw.size() != 36) return Malformed("wrong length");
  const uint16_t crc = Crc16(raw.data(), 34);
  if (raw[34] != (crc & 0xFF) || raw[35] != (crc >> 8)) return Malformed("bad checksum");
  if ((raw[0] & 0xF8) != kPrefixSeed) return Malformed("not a seed");
  const uint8_t public_prefix =
      static_cast<uint8_t>(((raw[0] & 0x07) << 5) | ((raw[1] & 0xF8) >> 3));

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.data() + 2, 32), &EVP_PKEY_free);
  if (!key) return absl::InternalError("Ed25519 key derivation failed");
  std::vector<uint8_t> pub(1 + 32);
  size_t len = 32;
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data() + 1, &len) != 1 || len != 32) {
    return absl::InternalError("Ed25519 public key extraction failed");
  }
  pub[0] = public_prefix;
  return EncodeWithChecksum(std::move(pub));
}

absl::StatusOr<std::string> ReadNkeySeedFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read nkey seed file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::istringstream tokens(text.str());
  std::string token;
  while (tokens >> token) {
    if (token.size() >= 58 && token[0] == 'S') return token.substr(0, 58);
  }
  return absl::FailedPreconditionError("no nkey seed in " + path);
}

std::string EncodeNkeySeed(uint8_t public_prefix, const std::array<uint8_t, 32>& raw_seed) {
  std::vector<uint8_t> bytes;
  bytes.push_back(static_cast<uint8_t>(kPrefixSeed | (public_prefix >> 5)));
  bytes.push_back(static_cast<uint8_t>((public_prefix & 31) << 3));
  bytes.insert(bytes.end(), raw_seed.begin(), raw_seed.end());
  return EncodeWithChecksum(std::move(bytes));
}

}  // namespace router::nats_adapter
