#include "libs/identity/resident_id.h"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

namespace claims::identity {

void PrintTo(Gender g, std::ostream* os) { *os << (g == Gender::kMale ? "kMale" : "kFemale"); }

namespace {

const Date kAsOf = Date::FromCivil(2026, 11, 29);

// An independent check-character computation, written from ISO 7064 MOD 11-2 as the standard
// states it (weight of position i is 2^(17-i) mod 11; check value (12 - sum mod 11) mod 11, 10
// written X), not from the table the library uses.
char IndependentCheckCharacter(const std::string& first17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    int weight = 1;
    for (int k = 0; k < 17 - i; ++k) weight = weight * 2 % 11;
    sum += (first17[i] - '0') * weight;
  }
  const int check = (12 - sum % 11) % 11;
  return check == 10 ? 'X' : static_cast<char>('0' + check);
}

// A synthetic number (no real person's): region 110101 unless given, then birth and sequence,
// then the check character computed independently.
std::string Synthetic(const std::string& birth_yyyymmdd, const std::string& sequence,
                      const std::string& region = "110101") {
  const std::string first17 = region + birth_yyyymmdd + sequence;
  return first17 + IndependentCheckCharacter(first17);
}

// The first synthetic number born on `birth_yyyymmdd`, of the given gender, whose check
// character is X.
std::string SyntheticWithCheckX(const std::string& birth_yyyymmdd, Gender gender) {
  for (int seq = gender == Gender::kMale ? 1 : 0; seq < 1000; seq += 2) {
    std::string s = std::to_string(seq);
    s.insert(0, 3 - s.size(), '0');
    const std::string id = Synthetic(birth_yyyymmdd, s);
    if (id.back() == 'X') return id;
  }
  return "";
}

std::string TestName(std::string n) {
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

TEST(ResidentIdTest, IndependentCheckCharacterMatchesTheLibrary) {
  for (const std::string first17 :
       {"11010119900307123", "44030420000229002", "51010719000101001"}) {
    EXPECT_EQ(ResidentIdCheckCharacter(first17), IndependentCheckCharacter(first17)) << first17;
  }
}

struct ValidCase {
  const char* name;
  std::string number;
  Date birth_date;
  Gender gender;
  friend void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.name; }
};

class ValidResidentIdTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidResidentIdTest, ParsesBirthDateAndGender) {
  const ValidCase& c = GetParam();
  Result<ResidentId> id = ParseResidentId(c.number, kAsOf);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->number, c.number);
  EXPECT_EQ(id->birth_date, c.birth_date);
  EXPECT_EQ(id->gender, c.gender);
}

INSTANTIATE_TEST_SUITE_P(
    ValidNumbers, ValidResidentIdTest,
    ::testing::Values(
        ValidCase{"odd sequence digit is male", Synthetic("19900307", "123"),
                  Date::FromCivil(1990, 3, 7), Gender::kMale},
        ValidCase{"even sequence digit is female", Synthetic("19900307", "124"),
                  Date::FromCivil(1990, 3, 7), Gender::kFemale},
        ValidCase{"zero sequence digit is female", Synthetic("19851231", "010"),
                  Date::FromCivil(1985, 12, 31), Gender::kFemale},
        ValidCase{"leap day in a century leap year", Synthetic("20000229", "007"),
                  Date::FromCivil(2000, 2, 29), Gender::kMale},
        ValidCase{"leap day in an ordinary leap year", Synthetic("19960229", "018"),
                  Date::FromCivil(1996, 2, 29), Gender::kFemale},
        ValidCase{"leap day 2024 in another region", Synthetic("20240229", "311", "440304"),
                  Date::FromCivil(2024, 2, 29), Gender::kMale},
        ValidCase{"earliest birth year 1900", Synthetic("19000101", "001"),
                  Date::FromCivil(1900, 1, 1), Gender::kMale},
        ValidCase{"born on the as-of date", Synthetic("20261129", "002"), kAsOf, Gender::kFemale},
        ValidCase{"check character X female", SyntheticWithCheckX("19880615", Gender::kFemale),
                  Date::FromCivil(1988, 6, 15), Gender::kFemale},
        ValidCase{"check character X male", SyntheticWithCheckX("19880615", Gender::kMale),
                  Date::FromCivil(1988, 6, 15), Gender::kMale}),
    [](const ::testing::TestParamInfo<ValidCase>& info) { return TestName(info.param.name); });

TEST(ResidentIdTest, CheckCharacterXCaseIsFoundAndValid) {
  const std::string id = SyntheticWithCheckX("19880615", Gender::kFemale);
  ASSERT_EQ(id.size(), 18u);
  EXPECT_EQ(id.back(), 'X');
}

TEST(ResidentIdTest, NormalisesLowerCaseXToUpperCase) {
  std::string id = SyntheticWithCheckX("19880615", Gender::kFemale);
  ASSERT_FALSE(id.empty());
  const std::string upper = id;
  id.back() = 'x';
  Result<ResidentId> parsed = ParseResidentId(id, kAsOf);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->number, upper);
  EXPECT_EQ(*parsed, *ParseResidentId(upper, kAsOf));
}

TEST(ResidentIdTest, UsesTheFieldNameTheCallerGives) {
  Result<ResidentId> id = ParseResidentId("123", kAsOf, "claim.member.resident_id");
  ASSERT_FALSE(id.ok());
  ASSERT_EQ(id.status().violations().size(), 1u);
  EXPECT_EQ(id.status().violations()[0].field, "claim.member.resident_id");
}

struct InvalidCase {
  const char* name;
  std::string text;
  std::string description;
  friend void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }
};

std::string WithCharAt(std::string s, size_t position_1_based, char c) {
  s[position_1_based - 1] = c;
  return s;
}

std::string WithWrongCheck(std::string s) {
  s.back() = s.back() == '0' ? '1' : '0';
  return s;
}

std::string WithSwappedDigits(std::string s, size_t a_1_based, size_t b_1_based) {
  std::swap(s[a_1_based - 1], s[b_1_based - 1]);
  return s;
}

const std::string kValid = Synthetic("19900307", "123");

std::string NotCalendar(const std::string& what) {
  return "birth date (positions 7-14, YYYYMMDD) is not a calendar date: " + what;
}

class InvalidResidentIdTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidResidentIdTest, ReportsExactlyWhatIsWrongWithoutEchoingTheNumber) {
  const InvalidCase& c = GetParam();
  Result<ResidentId> id = ParseResidentId(c.text, kAsOf);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(id.status().violations().size(), 1u) << id.status().ToString();
  const FieldViolation& v = id.status().violations()[0];
  EXPECT_EQ(v.field, "resident_id");
  EXPECT_EQ(v.description, c.description);
  const std::string all = id.status().ToString();
  if (c.text.size() >= 14) {
    EXPECT_EQ(all.find(c.text.substr(0, 6)), std::string::npos) << "region echoed: " << all;
    EXPECT_EQ(all.find(c.text.substr(6, 8)), std::string::npos) << "birth date echoed: " << all;
  }
}

INSTANTIATE_TEST_SUITE_P(
    InvalidNumbers, InvalidResidentIdTest,
    ::testing::Values(
        InvalidCase{"empty", "",
                    "must be 18 characters (17 digits and a check digit or X), got 0 bytes"},
        InvalidCase{"one digit short", kValid.substr(0, 17),
                    "must be 18 characters (17 digits and a check digit or X), got 17 bytes"},
        InvalidCase{"trailing space", kValid + " ",
                    "must be 18 characters (17 digits and a check digit or X), got 19 bytes"},
        InvalidCase{"old 15 digit number", "110101900307123",
                    "must be 18 characters (17 digits and a check digit or X), got 15 bytes"},
        InvalidCase{"full width digit", kValid.substr(0, 17) + "\xef\xbc\x91",
                    "must be 18 characters (17 digits and a check digit or X), got 20 bytes"},
        InvalidCase{"letter at position 1", WithCharAt(kValid, 1, 'A'),
                    "character at position 1 must be a digit 0-9"},
        InvalidCase{"space at position 10", WithCharAt(kValid, 10, ' '),
                    "character at position 10 must be a digit 0-9"},
        InvalidCase{"X before position 18", WithCharAt(kValid, 17, 'X'),
                    "character at position 17 must be a digit 0-9"},
        InvalidCase{"letter other than X at position 18", WithCharAt(kValid, 18, 'Y'),
                    "character at position 18 must be a digit 0-9 or X"},
        InvalidCase{"month 13", Synthetic("19901307", "123"), NotCalendar("month must be 01-12")},
        InvalidCase{"month 00", Synthetic("19900007", "123"), NotCalendar("month must be 01-12")},
        InvalidCase{"day 00", Synthetic("19900300", "123"),
                    NotCalendar("that month has no such day")},
        InvalidCase{"April 31", Synthetic("19900431", "123"),
                    NotCalendar("that month has no such day")},
        InvalidCase{"February 29 in a common year", Synthetic("20230229", "123"),
                    NotCalendar("that month has no such day")},
        InvalidCase{"February 29 in 1900, not a leap year", Synthetic("19000229", "123"),
                    NotCalendar("that month has no such day")},
        InvalidCase{"born before 1900", Synthetic("18991231", "123"),
                    "birth date (positions 7-14, YYYYMMDD) is before 1900"},
        InvalidCase{"born the day after the as-of date", Synthetic("20261130", "123"),
                    "birth date (positions 7-14, YYYYMMDD) is after 2026-11-29"},
        InvalidCase{"born in a future year", Synthetic("20990101", "123"),
                    "birth date (positions 7-14, YYYYMMDD) is after 2026-11-29"},
        InvalidCase{"wrong check digit", WithWrongCheck(kValid),
                    "check character (position 18) does not match the first 17 digits; the "
                    "number was probably mistyped"},
        InvalidCase{"X where a digit is due", WithCharAt(kValid, 18, 'X'),
                    "check character (position 18) does not match the first 17 digits; the "
                    "number was probably mistyped"},
        InvalidCase{"adjacent sequence digits swapped", WithSwappedDigits(kValid, 15, 16),
                    "check character (position 18) does not match the first 17 digits; the "
                    "number was probably mistyped"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return TestName(info.param.name); });

TEST(ResidentIdTest, MasksAllButTheFirstFourCharacters) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {kValid, "1101**************"},
      {SyntheticWithCheckX("19880615", Gender::kFemale), "1101**************"},
      {"", ""},
      {"11", "**"},
      {"1101", "****"},
      {"11010", "1101*"},
      {"ab12345", "*******"},
      {"\xef\xbc\x91\xef\xbc\x91", "******"},
  };
  for (const Case& c : cases) EXPECT_EQ(MaskResidentId(c.in), c.want) << c.want;
}

}  // namespace
}  // namespace claims::identity
