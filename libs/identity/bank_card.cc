#include "libs/identity/bank_card.h"

#include <algorithm>
#include <string>

namespace claims::identity {
namespace {

constexpr size_t kMinLength = 16;
constexpr size_t kMaxLength = 19;
constexpr size_t kMinLengthToShowLast4 = 12;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Violation(std::string_view field, std::string description) {
  return InvalidArgument("invalid bank card number",
                         {FieldViolation{std::string(field), std::move(description)}});
}

}  // namespace

bool LuhnValid(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsDigit)) return false;
  int sum = 0;
  bool doubled = false;  // The rightmost (check) digit is not doubled.
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubled = !doubled;
  }
  return sum % 10 == 0;
}

Status ValidateBankCard(std::string_view card, std::string_view field) {
  if (card.size() < kMinLength || card.size() > kMaxLength) {
    return Violation(field, "must be 16-19 digits, got " + std::to_string(card.size()) + " bytes");
  }
  for (size_t i = 0; i < card.size(); ++i) {
    if (!IsDigit(card[i])) {
      return Violation(field,
                       "character at position " + std::to_string(i + 1) + " must be a digit 0-9");
    }
  }
  if (!LuhnValid(card)) {
    return Violation(field, "fails the Luhn check; the number was probably mistyped");
  }
  return Status::Ok();
}

std::string CardLast4(std::string_view card) {
  constexpr size_t kShown = 4;
  if (card.size() < kMinLengthToShowLast4) return "";
  const std::string_view last = card.substr(card.size() - kShown);
  if (!std::all_of(last.begin(), last.end(), IsDigit)) return "";
  return std::string(last);
}

}  // namespace claims::identity
