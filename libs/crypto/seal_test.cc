#include "libs/crypto/seal.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>

namespace claims::crypto {
namespace {

// Deterministic nonces for tests: 1, 2, 3, ... big-endian. Never for production.
class CountingNonceSource final : public NonceSource {
 public:
  Result<GcmNonce> Next() override {
    GcmNonce n{};
    ++count_;
    for (int i = 0; i < 8; ++i) n[11 - i] = static_cast<uint8_t>(count_ >> (8 * i));
    return n;
  }

 private:
  uint64_t count_ = 0;
};

class FailingNonceSource final : public NonceSource {
 public:
  Result<GcmNonce> Next() override { return Internal("no entropy"); }
};

DataKey Key(std::string id, char fill) {
  return *DataKey::FromBytes(std::move(id), std::string(kKeySize, fill));
}

const std::string kMember = "3f1c0d2e";  // stands in for a member pseudonym
const std::string kPlain = "张三 13800000000 6205500000000000004";
const std::string kContext = "claim/c-1/payee";

TEST(SealTest, OpensWhatItSealed) {
  CountingNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> sealed = Seal(key, kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->key_id, kMember);
  EXPECT_EQ(sealed->ciphertext.size(), kPlain.size());
  EXPECT_EQ(sealed->ciphertext.find("13800000000"), std::string::npos);
  Result<std::string> opened = Open(key, *sealed, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, kPlain);
}

TEST(SealTest, OpensEmptyPlaintextAndEmptyAssociatedData) {
  CountingNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> sealed = Seal(key, "", "", nonces);
  ASSERT_TRUE(sealed.ok());
  Result<std::string> opened = Open(key, *sealed, "");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "");
}

TEST(SealTest, UsesAFreshNonceForEverySeal) {
  RandomNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> a = Seal(key, kPlain, kContext, nonces);
  Result<Sealed> b = Seal(key, kPlain, kContext, nonces);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->nonce, b->nonce);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

TEST(SealTest, PassesOnANonceSourceFailure) {
  FailingNonceSource nonces;
  Result<Sealed> sealed = Seal(Key(kMember, 'a'), kPlain, kContext, nonces);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kInternal);
}

struct TamperCase {
  const char* name;
  std::function<void(Sealed&)> tamper;
  friend void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }
};

class SealTamperTest : public ::testing::TestWithParam<TamperCase> {};

TEST_P(SealTamperTest, RefusesAnAlteredFieldAsDataLoss) {
  CountingNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> sealed = Seal(key, kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok());
  Sealed altered = *sealed;
  GetParam().tamper(altered);
  ASSERT_NE(altered, *sealed);
  // Open with the key of whatever id the altered value names, same bytes: only the
  // authentication can tell.
  Result<std::string> opened = Open(Key(altered.key_id, 'a'), altered, kContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << opened.status().ToString();
  EXPECT_EQ(opened.status().ToString().find("13800000000"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    EveryField, SealTamperTest,
    ::testing::Values(TamperCase{"KeyId", [](Sealed& s) { s.key_id[0] ^= 0x01; }},
                      TamperCase{"NonceFirstByte", [](Sealed& s) { s.nonce[0] ^= 0x80; }},
                      TamperCase{"NonceLastByte", [](Sealed& s) { s.nonce[11] ^= 0x01; }},
                      TamperCase{"CiphertextFirstByte", [](Sealed& s) { s.ciphertext[0] ^= 0x01; }},
                      TamperCase{"CiphertextLastByte",
                                 [](Sealed& s) { s.ciphertext.back() ^= 0x40; }},
                      TamperCase{"CiphertextTruncated", [](Sealed& s) { s.ciphertext.pop_back(); }},
                      TamperCase{"CiphertextExtended", [](Sealed& s) { s.ciphertext += 'x'; }},
                      TamperCase{"TagFirstByte", [](Sealed& s) { s.tag[0] ^= 0x01; }},
                      TamperCase{"TagLastByte", [](Sealed& s) { s.tag[15] ^= 0x01; }}),
    [](const ::testing::TestParamInfo<TamperCase>& info) { return std::string(info.param.name); });

TEST(SealTest, RefusesEveryFlippedBitOfTheCiphertextAndTag) {
  CountingNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> sealed = Seal(key, kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->ciphertext.size() * 8; ++i) {
    Sealed altered = *sealed;
    altered.ciphertext[i / 8] ^= static_cast<char>(1 << (i % 8));
    EXPECT_EQ(Open(key, altered, kContext).status().code(), StatusCode::kDataLoss) << i;
  }
  for (size_t i = 0; i < kGcmTagSize * 8; ++i) {
    Sealed altered = *sealed;
    altered.tag[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    EXPECT_EQ(Open(key, altered, kContext).status().code(), StatusCode::kDataLoss) << i;
  }
}

TEST(SealTest, RefusesADifferentKeyUnderTheSameIdAsDataLoss) {
  CountingNonceSource nonces;
  Result<Sealed> sealed = Seal(Key(kMember, 'a'), kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok());
  Result<std::string> opened = Open(Key(kMember, 'b'), *sealed, kContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
}

TEST(SealTest, RefusesDifferentAssociatedDataAsDataLoss) {
  CountingNonceSource nonces;
  const DataKey key = Key(kMember, 'a');
  Result<Sealed> sealed = Seal(key, kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok());
  for (const char* aad : {"", "claim/c-2/payee", "claim/c-1/payee ", "claim/c-1/paye"}) {
    EXPECT_EQ(Open(key, *sealed, aad).status().code(), StatusCode::kDataLoss) << aad;
  }
}

TEST(SealTest, RefusesAKeyWithAnotherIdAsFailedPrecondition) {
  CountingNonceSource nonces;
  Result<Sealed> sealed = Seal(Key(kMember, 'a'), kPlain, kContext, nonces);
  ASSERT_TRUE(sealed.ok());
  Result<std::string> opened = Open(Key("another-member", 'a'), *sealed, kContext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("another-member"), std::string::npos);
}

TEST(SealTest, KeyIdAndAssociatedDataCannotBeReSplit) {
  // Same concatenation "ab" + "c" vs "a" + "bc": the length prefix keeps them apart.
  CountingNonceSource nonces;
  Result<Sealed> sealed = Seal(Key("ab", 'a'), kPlain, "c", nonces);
  ASSERT_TRUE(sealed.ok());
  Sealed moved = *sealed;
  moved.key_id = "a";
  EXPECT_EQ(Open(Key("a", 'a'), moved, "bc").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace claims::crypto
