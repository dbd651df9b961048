#include "libs/crypto/hmac.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "libs/crypto/test_util.h"

namespace claims::crypto {
namespace {

using test_util::FromHex;

struct HmacCase {
  const char* name;
  std::string key;
  std::string data;
  std::string hex;  // expected HMAC-SHA256, possibly truncated (RFC 4231 case 5)
  friend void PrintTo(const HmacCase& c, std::ostream* os) { *os << c.name; }
};

class Rfc4231Test : public ::testing::TestWithParam<HmacCase> {};

TEST_P(Rfc4231Test, MatchesThePublishedHmacSha256) {
  const HmacCase& c = GetParam();
  EXPECT_EQ(ToHex(AsBytes(HmacSha256(c.key, c.data))).substr(0, c.hex.size()), c.hex);
}

TEST_P(Rfc4231Test, AKeySetUpOnceGivesThePublishedHmacOnEveryCall) {
  const HmacSha256Key key(GetParam().key);
  for (int call = 0; call < 3; ++call) {  // the second and third reuse the first's context
    EXPECT_EQ(ToHex(AsBytes(key.Mac(GetParam().data))).substr(0, GetParam().hex.size()),
              GetParam().hex)
        << "call " << call;
  }
}

// RFC 4231 section 4, test cases 1-7 (HMAC-SHA-256 lines), plus the empty key.
INSTANTIATE_TEST_SUITE_P(
    Vectors, Rfc4231Test,
    ::testing::Values(
        HmacCase{"Case1", std::string(20, '\x0b'), "Hi There",
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        HmacCase{"Case2", "Jefe", "what do ya want for nothing?",
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        HmacCase{"Case3", std::string(20, '\xaa'), std::string(50, '\xdd'),
                 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        HmacCase{"Case4", FromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                 std::string(50, '\xcd'),
                 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        HmacCase{"Case5Truncated", std::string(20, '\x0c'), "Test With Truncation",
                 "a3b6167473100ee06e0c796c2955552b"},
        HmacCase{"Case6", std::string(131, '\xaa'),
                 "Test Using Larger Than Block-Size Key - Hash Key First",
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        HmacCase{"Case7", std::string(131, '\xaa'),
                 "This is a test using a larger than block-size key and a larger than block-size "
                 "data. The key needs to be hashed before being used by the HMAC algorithm.",
                 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
        HmacCase{"EmptyKeyAndData", "", "",
                 "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"}),
    [](const ::testing::TestParamInfo<HmacCase>& info) { return std::string(info.param.name); });

PseudonymKey Key(char fill) { return *PseudonymKey::FromBytes(std::string(kKeySize, fill)); }

// Synthetic numbers (valid format, no real person's).
constexpr std::string_view kNumber = "110101199003071233";
constexpr std::string_view kOtherNumber = "110101199003071241";

TEST(MemberPseudonymTest, IsLowerCaseHexHmacOfTheNumber) {
  const std::string id = MemberPseudonym(Key('k'), kNumber);
  EXPECT_EQ(id, ToHex(AsBytes(HmacSha256(std::string(kKeySize, 'k'), kNumber))));
  ASSERT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
}

TEST(HmacSha256KeyTest, GivesEachMessageItsOwnMacWhenCalledFromManyThreadsAtOnce) {
  const HmacSha256Key key(std::string(kKeySize, 'k'));
  std::vector<std::string> messages;
  for (int i = 0; i < 64; ++i) messages.push_back("message " + std::to_string(i));
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (const std::string& m : messages) {
          if (key.Mac(m) != HmacSha256(std::string(kKeySize, 'k'), m)) ++wrong[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(HmacSha256KeyTest, StaysUsableAfterAMove) {
  HmacSha256Key key("Jefe");
  const HmacSha256Key moved = std::move(key);
  EXPECT_EQ(ToHex(AsBytes(moved.Mac("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(MemberPseudonymTest, IsTheSameUnderTheKeySetUpOnce) {
  const HmacSha256Key once(std::string(kKeySize, 'k'));
  EXPECT_EQ(MemberPseudonym(once, kNumber), MemberPseudonym(Key('k'), kNumber));
  EXPECT_EQ(MemberPseudonym(once, "11010119880615000x"),
            MemberPseudonym(Key('k'), "11010119880615000X"));
}

TEST(MemberPseudonymTest, IsDeterministicAcrossKeyCopies) {
  const PseudonymKey key = Key('k');
  const PseudonymKey copy = key;
  EXPECT_EQ(MemberPseudonym(key, kNumber), MemberPseudonym(copy, kNumber));
}

TEST(MemberPseudonymTest, DiffersByNumberAndByKey) {
  EXPECT_NE(MemberPseudonym(Key('k'), kNumber), MemberPseudonym(Key('k'), kOtherNumber));
  EXPECT_NE(MemberPseudonym(Key('k'), kNumber), MemberPseudonym(Key('j'), kNumber));
}

TEST(MemberPseudonymTest, DoesNotContainTheNumberOrItsPlainHash) {
  const std::string id = MemberPseudonym(Key('k'), kNumber);
  EXPECT_EQ(id.find(kNumber.substr(0, 6)), std::string::npos);
  EXPECT_NE(id, Sha256Hex(kNumber));
}

TEST(MemberPseudonymTest, TreatsLowerCaseXCheckCharacterAsUpperCase) {
  EXPECT_EQ(MemberPseudonym(Key('k'), "11010119880615000x"),
            MemberPseudonym(Key('k'), "11010119880615000X"));
}

}  // namespace
}  // namespace claims::crypto
