#pragma once

#include <string>
#include <string_view>

#include "libs/base/status.h"

namespace claims::identity {

// The FieldViolation::field ValidateBankCard uses unless the caller names another.
inline constexpr std::string_view kBankCardField = "bank_card";

// True when `digits` is non-empty, all ASCII digits, and passes the Luhn (mod 10) check.
bool LuhnValid(std::string_view digits);

// Checks a payout bank card number: 16 to 19 ASCII digits passing the Luhn check. Callers strip
// display formatting (spaces, dashes) first; nothing is normalised here. On failure returns
// INVALID_ARGUMENT with one FieldViolation on `field` naming the first problem (length, a
// non-digit at a 1-based position, the Luhn check); descriptions never echo the input.
Status ValidateBankCard(std::string_view card, std::string_view field = kBankCardField);

// For logs and display: the last 4 characters of a card number ("6222...1234" gives "1234").
// Returns "" when `card` is shorter than 12 characters or its last 4 are not all ASCII digits,
// so a short or malformed value is never shown nearly whole.
std::string CardLast4(std::string_view card);

}  // namespace claims::identity
