#include "libs/identity/bank_card.h"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

namespace claims::identity {
namespace {

// An independent Luhn check digit for `payload` (the number without its check digit), computed
// left to right: a digit is doubled when its distance from the check digit is odd.
char IndependentLuhnDigit(const std::string& payload) {
  int sum = 0;
  const size_t n = payload.size();
  for (size_t i = 0; i < n; ++i) {
    const int d = payload[i] - '0';
    const bool doubled = (n - i) % 2 == 1;
    sum += doubled ? (d * 2) / 10 + (d * 2) % 10 : d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

// A synthetic card number of `length` digits: "62" then 7s, then the Luhn digit.
std::string SyntheticCard(size_t length) {
  std::string payload = "62" + std::string(length - 3, '7');
  return payload + IndependentLuhnDigit(payload);
}

std::string TestName(std::string n) {
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

TEST(LuhnTest, AcceptsPublishedTestCardNumbers) {
  for (const char* n : {"4111111111111111", "5555555555554444", "6011111111111117",
                        "6200000000000005", "6205500000000000004", "0", "18"}) {
    EXPECT_TRUE(LuhnValid(n)) << n;
  }
}

TEST(LuhnTest, RejectsSingleDigitErrorsEmptyAndNonDigits) {
  for (const char* n : {"4111111111111112", "5555555555554440", "6200000000000006", "", "1",
                        "4111 1111 1111 1111", "411111111111111a"}) {
    EXPECT_FALSE(LuhnValid(n)) << n;
  }
}

TEST(LuhnTest, AgreesWithAnIndependentImplementationOnEveryLength) {
  for (size_t length = 3; length <= 19; ++length) {
    std::string card = SyntheticCard(length);
    EXPECT_TRUE(LuhnValid(card)) << card;
    card.back() = card.back() == '9' ? '0' : static_cast<char>(card.back() + 1);
    EXPECT_FALSE(LuhnValid(card)) << card;
  }
}

struct CardCase {
  const char* name;
  std::string card;
  std::string description;  // "" when valid
  friend void PrintTo(const CardCase& c, std::ostream* os) { *os << c.name; }
};

class ValidateBankCardTest : public ::testing::TestWithParam<CardCase> {};

TEST_P(ValidateBankCardTest, AcceptsOrNamesTheProblem) {
  const CardCase& c = GetParam();
  const Status s = ValidateBankCard(c.card);
  if (c.description.empty()) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    return;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(s.violations().size(), 1u) << s.ToString();
  EXPECT_EQ(s.violations()[0].field, "bank_card");
  EXPECT_EQ(s.violations()[0].description, c.description);
  if (c.card.size() >= 8) {
    EXPECT_EQ(s.ToString().find(c.card.substr(c.card.size() - 8)), std::string::npos)
        << s.ToString();
  }
}

std::string WithCharAt(std::string s, size_t position_1_based, char c) {
  s[position_1_based - 1] = c;
  return s;
}

std::string WithWrongLastDigit(std::string s) {
  s.back() = s.back() == '0' ? '1' : '0';
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Cards, ValidateBankCardTest,
    ::testing::Values(
        CardCase{"16 digits", SyntheticCard(16), ""}, CardCase{"17 digits", SyntheticCard(17), ""},
        CardCase{"18 digits", SyntheticCard(18), ""}, CardCase{"19 digits", SyntheticCard(19), ""},
        CardCase{"UnionPay test number", "6205500000000000004", ""},
        CardCase{"empty", "", "must be 16-19 digits, got 0 bytes"},
        CardCase{"15 digits", SyntheticCard(15), "must be 16-19 digits, got 15 bytes"},
        CardCase{"20 digits", SyntheticCard(20), "must be 16-19 digits, got 20 bytes"},
        CardCase{"grouped with spaces", "6200 0000 0000 0005",
                 "character at position 5 must be a digit 0-9"},
        CardCase{"space inside", WithCharAt(SyntheticCard(17), 5, ' '),
                 "character at position 5 must be a digit 0-9"},
        CardCase{"dash at the end", WithCharAt(SyntheticCard(16), 16, '-'),
                 "character at position 16 must be a digit 0-9"},
        CardCase{"wrong check digit", WithWrongLastDigit(SyntheticCard(19)),
                 "fails the Luhn check; the number was probably mistyped"}),
    [](const ::testing::TestParamInfo<CardCase>& info) { return TestName(info.param.name); });

TEST(ValidateBankCardTest, UsesTheFieldNameTheCallerGives) {
  const Status s = ValidateBankCard("1", "payout.bank_card");
  ASSERT_EQ(s.violations().size(), 1u);
  EXPECT_EQ(s.violations()[0].field, "payout.bank_card");
}

TEST(CardLast4Test, ShowsOnlyTheLastFourDigitsOfPlausibleNumbers) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"6205500000000000004", "0004"},
      {"620000000000", "0000"},  // 12 characters: the shortest shown
      {"62000000000", ""},       // 11 characters: too short to show
      {"", ""},
      {"6205 5000 0000 000X", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(CardLast4(c.in), c.want) << c.in;
}

}  // namespace
}  // namespace claims::identity
