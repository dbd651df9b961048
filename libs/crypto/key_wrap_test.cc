#include "libs/crypto/key_wrap.h"

#include <gtest/gtest.h>

#include <string>

#include "libs/crypto/seal.h"

namespace claims::crypto {
namespace {

MasterKey Master(char fill) { return *MasterKey::FromBytes(std::string(kKeySize, fill)); }

const std::string kMember = "3f1c0d2e";  // stands in for a member pseudonym

TEST(KeyWrapTest, UnwrapsTheKeyItWrapped) {
  RandomNonceSource nonces;
  Result<DataKey> key = GenerateDataKey(kMember);
  ASSERT_TRUE(key.ok());
  Result<std::string> wrapped = WrapKey(Master('m'), *key, nonces);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->size(), kWrappedKeySize);
  Result<DataKey> unwrapped = UnwrapKey(Master('m'), kMember, *wrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(unwrapped->key_id(), kMember);
  EXPECT_TRUE(unwrapped->material().SameAs(key->material()));
}

TEST(KeyWrapTest, UnwrappedKeyOpensWhatTheOriginalSealed) {
  RandomNonceSource nonces;
  Result<DataKey> key = GenerateDataKey(kMember);
  ASSERT_TRUE(key.ok());
  Result<Sealed> sealed = Seal(*key, "13800000000", "phone", nonces);
  Result<std::string> wrapped = WrapKey(Master('m'), *key, nonces);
  ASSERT_TRUE(sealed.ok() && wrapped.ok());
  Result<DataKey> unwrapped = UnwrapKey(Master('m'), kMember, *wrapped);
  ASSERT_TRUE(unwrapped.ok());
  Result<std::string> opened = Open(*unwrapped, *sealed, "phone");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "13800000000");
}

TEST(KeyWrapTest, DoesNotContainTheKeyInTheClear) {
  RandomNonceSource nonces;
  const DataKey key = *DataKey::FromBytes(kMember, std::string(kKeySize, 'K'));
  Result<std::string> wrapped = WrapKey(Master('m'), key, nonces);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->find("KKKKKKKK"), std::string::npos);
}

TEST(KeyWrapTest, RefusesAnotherMasterKeyAsDataLoss) {
  RandomNonceSource nonces;
  Result<std::string> wrapped = WrapKey(Master('m'), *GenerateDataKey(kMember), nonces);
  ASSERT_TRUE(wrapped.ok());
  Result<DataKey> unwrapped = UnwrapKey(Master('n'), kMember, *wrapped);
  ASSERT_FALSE(unwrapped.ok());
  EXPECT_EQ(unwrapped.status().code(), StatusCode::kDataLoss);
}

TEST(KeyWrapTest, RefusesAnotherMembersIdAsDataLoss) {
  RandomNonceSource nonces;
  Result<std::string> wrapped = WrapKey(Master('m'), *GenerateDataKey(kMember), nonces);
  ASSERT_TRUE(wrapped.ok());
  for (const char* other : {"3f1c0d2f", "3f1c0d2", "3f1c0d2e/2", ""}) {
    Result<DataKey> unwrapped = UnwrapKey(Master('m'), other, *wrapped);
    ASSERT_FALSE(unwrapped.ok()) << other;
    EXPECT_EQ(unwrapped.status().code(), StatusCode::kDataLoss) << other;
  }
}

TEST(KeyWrapTest, RefusesEveryFlippedByte) {
  RandomNonceSource nonces;
  Result<std::string> wrapped = WrapKey(Master('m'), *GenerateDataKey(kMember), nonces);
  ASSERT_TRUE(wrapped.ok());
  for (size_t i = 0; i < wrapped->size(); ++i) {
    std::string altered = *wrapped;
    altered[i] ^= 0x01;
    Result<DataKey> unwrapped = UnwrapKey(Master('m'), kMember, altered);
    ASSERT_FALSE(unwrapped.ok()) << "byte " << i;
    // The version byte is checked before authentication; every other byte fails it.
    EXPECT_EQ(unwrapped.status().code(),
              i == 0 ? StatusCode::kInvalidArgument : StatusCode::kDataLoss)
        << "byte " << i;
  }
}

TEST(KeyWrapTest, RefusesAWrongLengthAsInvalidArgument) {
  RandomNonceSource nonces;
  Result<std::string> wrapped = WrapKey(Master('m'), *GenerateDataKey(kMember), nonces);
  ASSERT_TRUE(wrapped.ok());
  for (const std::string& bad : {std::string(), wrapped->substr(0, 60), *wrapped + '\0'}) {
    Result<DataKey> unwrapped = UnwrapKey(Master('m'), kMember, bad);
    ASSERT_FALSE(unwrapped.ok());
    EXPECT_EQ(unwrapped.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(unwrapped.status().message(),
              "a wrapped key must be 61 bytes, got " + std::to_string(bad.size()));
  }
}

}  // namespace
}  // namespace claims::crypto
