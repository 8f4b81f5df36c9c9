// NKey seed handling for nats.auth.nkey_seed_file (the server-side check is an integration
// test): encoding round trip, checksum and prefix validation, seed files.

#include "nats/nkey.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace router::nats_adapter {
namespace {

std::array<uint8_t, 32> RawSeed(uint8_t start) {
  std::array<uint8_t, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(start + i * 11);
  return raw;
}

TEST(NkeyTest, UserSeedYieldsUserPublicKey) {
  const std::string seed = EncodeNkeySeed(kNkeyPrefixUser, RawSeed(1));
  EXPECT_EQ(seed.size(), 58u);
  EXPECT_EQ(seed.substr(0, 2), "SU");
  auto pub = NkeyPublicKeyFromSeed(seed);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->size(), 56u);
  EXPECT_EQ((*pub)[0], 'U');
  // Deterministic, and different seeds give different keys.
  EXPECT_EQ(*NkeyPublicKeyFromSeed(seed), *pub);
  EXPECT_NE(*NkeyPublicKeyFromSeed(EncodeNkeySeed(kNkeyPrefixUser, RawSeed(2))), *pub);
}

TEST(NkeyTest, RejectsMalformedSeeds) {
  std::string seed = EncodeNkeySeed(kNkeyPrefixUser, RawSeed(1));
  std::string flipped = seed;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(NkeyPublicKeyFromSeed(flipped).ok());                // checksum
  EXPECT_FALSE(NkeyPublicKeyFromSeed(seed.substr(0, 50)).ok());     // length
  EXPECT_FALSE(NkeyPublicKeyFromSeed("su" + seed.substr(2)).ok());  // alphabet
  EXPECT_FALSE(NkeyPublicKeyFromSeed("").ok());
}

TEST(NkeyTest, ReadsTheSeedFromAFile) {
  const std::string seed = EncodeNkeySeed(kNkeyPrefixUser, RawSeed(5));
  const std::string path = ::testing::TempDir() + "/user.nk";
  std::ofstream(path) << "# generated\n" << seed << "\n";
  auto read = ReadNkeySeedFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, seed);
  std::ofstream(path) << "no seed here\n";
  EXPECT_FALSE(ReadNkeySeedFile(path).ok());
  std::remove(path.c_str());
  EXPECT_EQ(ReadNkeySeedFile(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace router::nats_adapter
