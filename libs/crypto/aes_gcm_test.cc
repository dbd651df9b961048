#include "libs/crypto/aes_gcm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>

#include "libs/crypto/sha256.h"
#include "libs/crypto/test_util.h"

namespace claims::crypto {
namespace {

using test_util::FromHex;

struct GcmCase {
  const char* name;
  std::string key, nonce, plaintext, aad, ciphertext, tag;  // hex
  friend void PrintTo(const GcmCase& c, std::ostream* os) { *os << c.name; }
};

KeyMaterial Key(const std::string& hex) { return *KeyMaterial::FromBytes(FromHex(hex)); }

GcmNonce Nonce(const std::string& hex) {
  GcmNonce n{};
  const std::string b = FromHex(hex);
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

GcmTag Tag(const std::string& hex) {
  GcmTag t{};
  const std::string b = FromHex(hex);
  std::copy(b.begin(), b.end(), t.begin());
  return t;
}

class GcmSpecTest : public ::testing::TestWithParam<GcmCase> {};

TEST_P(GcmSpecTest, EncryptsToThePublishedCiphertextAndTag) {
  const GcmCase& c = GetParam();
  Result<GcmSealed> out =
      Aes256GcmEncrypt(Key(c.key), Nonce(c.nonce), FromHex(c.plaintext), FromHex(c.aad));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(ToHex(out->ciphertext), c.ciphertext);
  EXPECT_EQ(ToHex(std::string_view(reinterpret_cast<const char*>(out->tag.data()), 16)), c.tag);
}

TEST_P(GcmSpecTest, DecryptsThePublishedCiphertext) {
  const GcmCase& c = GetParam();
  Result<std::string> plaintext = Aes256GcmDecrypt(
      Key(c.key), Nonce(c.nonce), FromHex(c.ciphertext), Tag(c.tag), FromHex(c.aad));
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(ToHex(*plaintext), c.plaintext);
}

TEST_P(GcmSpecTest, RefusesThePublishedCiphertextWithAFlippedTagBit) {
  const GcmCase& c = GetParam();
  GcmTag tag = Tag(c.tag);
  tag[15] ^= 0x01;
  Result<std::string> plaintext =
      Aes256GcmDecrypt(Key(c.key), Nonce(c.nonce), FromHex(c.ciphertext), tag, FromHex(c.aad));
  ASSERT_FALSE(plaintext.ok());
  EXPECT_EQ(plaintext.status().code(), StatusCode::kDataLoss);
}

// The AES-256 test cases 13-16 of McGrew & Viega, "The Galois/Counter Mode of Operation
// (GCM)", the document NIST SP 800-38D builds on. Bytes checked against the spec and against an
// independent implementation (Python `cryptography`).
const std::string kKey15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const std::string kNonce15 = "cafebabefacedbaddecaf888";
const std::string kPlain15 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const std::string kCipher15 =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

INSTANTIATE_TEST_SUITE_P(
    GcmSpecAes256, GcmSpecTest,
    ::testing::Values(GcmCase{"TestCase13", std::string(64, '0'), std::string(24, '0'), "", "", "",
                              "530f8afbc74536b9a963b4f1c4cb738b"},
                      GcmCase{"TestCase14", std::string(64, '0'), std::string(24, '0'),
                              std::string(32, '0'), "", "cea7403d4d606b6e074ec5d3baf39d18",
                              "d0d1c8a799996bf0265b98b5d48ab919"},
                      GcmCase{"TestCase15", kKey15, kNonce15, kPlain15, "", kCipher15,
                              "b094dac5d93471bdec1a502270e3cc6c"},
                      GcmCase{"TestCase16", kKey15, kNonce15, kPlain15.substr(0, 120),
                              "feedfacedeadbeeffeedfacedeadbeefabaddad2", kCipher15.substr(0, 120),
                              "76fc6ece0f4e1768cddf8853bb2d551b"}),
    [](const ::testing::TestParamInfo<GcmCase>& info) { return std::string(info.param.name); });

TEST(RandomNonceSourceTest, DrawsDifferentNonces) {
  RandomNonceSource nonces;
  Result<GcmNonce> a = nonces.Next();
  Result<GcmNonce> b = nonces.Next();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace claims::crypto
