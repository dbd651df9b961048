#include "libs/identity/resident_id.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <string>

namespace claims::identity {
namespace {

constexpr size_t kLength = 18;
constexpr int kEarliestBirthYear = 1900;
// ISO 7064 MOD 11-2 as GB 11643-1999 applies it: weight of position i is 2^(17-i) mod 11.
constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr std::string_view kCheckCharacters = "10X98765432";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int Digits(std::string_view text, size_t from, size_t count) {
  int value = 0;
  for (size_t i = from; i < from + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

Status Violation(std::string_view field, std::string description) {
  return InvalidArgument("invalid resident identity number",
                         {FieldViolation{std::string(field), std::move(description)}});
}

}  // namespace

char ResidentIdCheckCharacter(std::string_view first17) {
  assert(first17.size() == kWeights.size());
  int sum = 0;
  for (size_t i = 0; i < kWeights.size(); ++i) {
    assert(IsDigit(first17[i]));
    sum += (first17[i] - '0') * kWeights[i];
  }
  return kCheckCharacters[sum % 11];
}

Result<ResidentId> ParseResidentId(std::string_view text, Date as_of, std::string_view field) {
  if (text.size() != kLength) {
    return Violation(field, "must be 18 characters (17 digits and a check digit or X), got " +
                                std::to_string(text.size()) + " bytes");
  }
  for (size_t i = 0; i < kLength - 1; ++i) {
    if (!IsDigit(text[i])) {
      return Violation(field,
                       "character at position " + std::to_string(i + 1) + " must be a digit 0-9");
    }
  }
  const char last = text[kLength - 1];
  if (!IsDigit(last) && last != 'X' && last != 'x') {
    return Violation(field, "character at position 18 must be a digit 0-9 or X");
  }

  const int year = Digits(text, 6, 4);
  const int month = Digits(text, 10, 2);
  const int day = Digits(text, 12, 2);
  if (month < 1 || month > 12) {
    return Violation(field,
                     "birth date (positions 7-14, YYYYMMDD) is not a calendar date: month must be "
                     "01-12");
  }
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Violation(field,
                     "birth date (positions 7-14, YYYYMMDD) is not a calendar date: that month "
                     "has no such day");
  }
  if (year < kEarliestBirthYear) {
    return Violation(field, "birth date (positions 7-14, YYYYMMDD) is before 1900");
  }
  const Date birth_date = Date::FromCivil(year, month, day);
  if (birth_date > as_of) {
    return Violation(field, "birth date (positions 7-14, YYYYMMDD) is after " + as_of.ToString());
  }

  const char normalised_last = last == 'x' ? 'X' : last;
  if (ResidentIdCheckCharacter(text.substr(0, kLength - 1)) != normalised_last) {
    return Violation(field,
                     "check character (position 18) does not match the first 17 digits; the "
                     "number was probably mistyped");
  }

  ResidentId id;
  id.number = std::string(text.substr(0, kLength - 1)) + normalised_last;
  id.birth_date = birth_date;
  id.gender = (text[16] - '0') % 2 == 1 ? Gender::kMale : Gender::kFemale;
  return id;
}

std::string MaskResidentId(std::string_view text) {
  constexpr size_t kShown = 4;
  std::string masked(text.size(), '*');
  if (text.size() > kShown &&
      std::all_of(text.begin(), text.begin() + kShown, [](char c) { return IsDigit(c); })) {
    masked.replace(0, kShown, text.substr(0, kShown));
  }
  return masked;
}

}  // namespace claims::identity
