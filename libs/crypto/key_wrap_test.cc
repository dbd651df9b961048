#include "libs/crypto/key_wrap.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

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

TEST(KeyWrapTest, MasterKeysTryTheCurrentKeyThenThePreviousOne) {
  RandomNonceSource nonces;
  const DataKey key = *GenerateDataKey(kMember);
  const std::string under_old = *WrapKey(Master('o'), key, nonces);
  const std::string under_new = *WrapKey(Master('n'), key, nonces);
  const MasterKeys rotating(Master('n'), Master('o'));
  for (const auto& [wrapped, by_previous] :
       {std::pair{under_new, false}, std::pair{under_old, true}}) {
    Result<UnwrappedKey> unwrapped = UnwrapKeyWithEither(rotating, kMember, wrapped);
    ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
    EXPECT_EQ(unwrapped->by_previous, by_previous);
    EXPECT_EQ(unwrapped->key.key_id(), kMember);
    EXPECT_TRUE(unwrapped->key.material().SameAs(key.material()));
    EXPECT_TRUE(UnwrapKey(rotating, kMember, wrapped).ok());
  }
}

TEST(KeyWrapTest, MasterKeysWithoutAPreviousKeyOpenOnlyTheCurrentOnesKeys) {
  RandomNonceSource nonces;
  const DataKey key = *GenerateDataKey(kMember);
  const MasterKeys current_only(Master('n'));
  EXPECT_TRUE(UnwrapKey(current_only, kMember, *WrapKey(Master('n'), key, nonces)).ok());
  Result<DataKey> old = UnwrapKey(current_only, kMember, *WrapKey(Master('o'), key, nonces));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(old.status().message(),
            "wrapped key for '3f1c0d2e' failed authentication: wrong master key, wrong key id, or "
            "altered bytes");
}

TEST(KeyWrapTest, MasterKeysRefuseAKeyNeitherWrappedAsDataLossNamingBoth) {
  RandomNonceSource nonces;
  const DataKey key = *GenerateDataKey(kMember);
  const MasterKeys rotating(Master('n'), Master('o'));
  std::string altered = *WrapKey(Master('o'), key, nonces);
  altered[20] ^= 0x01;
  for (const std::string& wrapped : {*WrapKey(Master('x'), key, nonces), altered}) {
    Result<UnwrappedKey> unwrapped = UnwrapKeyWithEither(rotating, kMember, wrapped);
    ASSERT_FALSE(unwrapped.ok());
    EXPECT_EQ(unwrapped.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(unwrapped.status().message(),
              "wrapped key for '3f1c0d2e' failed authentication under the current and the "
              "previous master key: another master key, a wrong key id, or altered bytes");
  }
  // A malformed form is refused before any key is tried, whichever keys there are.
  Result<UnwrappedKey> short_form = UnwrapKeyWithEither(rotating, kMember, "too short");
  ASSERT_FALSE(short_form.ok());
  EXPECT_EQ(short_form.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyWrapTest, RewrappingUnderTheNewKeyKeepsTheDataOpenAndShutsTheOldKeyOut) {
  RandomNonceSource nonces;
  const DataKey key = *GenerateDataKey(kMember);
  const Sealed sealed = *Seal(key, "6222020200112233446", "card", nonces);
  const std::string under_old = *WrapKey(Master('o'), key, nonces);
  Result<UnwrappedKey> opened =
      UnwrapKeyWithEither(MasterKeys(Master('n'), Master('o')), kMember, under_old);
  ASSERT_TRUE(opened.ok());
  const std::string under_new = *WrapKey(Master('n'), opened->key, nonces);
  EXPECT_NE(under_new, under_old);
  Result<DataKey> with_new = UnwrapKey(Master('n'), kMember, under_new);
  ASSERT_TRUE(with_new.ok());
  EXPECT_EQ(*Open(*with_new, sealed, "card"), "6222020200112233446");
  EXPECT_EQ(UnwrapKey(Master('o'), kMember, under_new).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace claims::crypto
