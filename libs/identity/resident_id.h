#pragma once

#include <string>
#include <string_view>

#include "libs/base/date.h"
#include "libs/base/status.h"

namespace claims::identity {

// The gender a resident identity number encodes (GB 11643-1999: odd sequence digit for male,
// even for female). Only what the number says; we neither ask for nor infer anything else.
enum class Gender { kFemale, kMale };

// A syntactically valid 18-character PRC resident identity number and what it encodes.
// Personal data: never log `number` or `birth_date`; log MaskResidentId(number) at most, and use
// the keyed pseudonym (crypto::MemberPseudonym) wherever a member must be identified in events.
struct ResidentId {
  // 17 digits then the check character: a digit or upper-case 'X'.
  std::string number;
  Date birth_date;
  Gender gender = Gender::kFemale;

  friend bool operator==(const ResidentId&, const ResidentId&) = default;
};

// The FieldViolation::field ParseResidentId uses unless the caller names another.
inline constexpr std::string_view kResidentIdField = "resident_id";

// Parses an 18-character resident identity number (GB 11643-1999):
//   positions 1-6    region code: six digits; not checked against the list of administrative
//                    divisions, which changes over time while old numbers stay valid;
//   positions 7-14   birth date YYYYMMDD: a real calendar day, year 1900 or later, not after
//                    `as_of` (the business date of the request, passed in so this stays pure);
//   positions 15-17  sequence; the digit at position 17 is odd for men, even for women;
//   position 18      ISO 7064 MOD 11-2 check character over the first 17 digits.
// A lower-case 'x' check character is accepted and normalised to 'X', so the two spellings give
// one ResidentId (and so one member pseudonym). Nothing else is normalised: no trimming, no
// full-width digits, no separators.
//
// On failure returns INVALID_ARGUMENT with exactly one FieldViolation on `field`, naming the first
// problem found in this order: length, a character that is not a digit (or X at position 18),
// the birth date (not a calendar day, before 1900, after `as_of`), the check character. Positions
// are 1-based. Descriptions never contain any character of the input, so errors may be logged.
Result<ResidentId> ParseResidentId(std::string_view text, Date as_of,
                                   std::string_view field = kResidentIdField);

// The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for 17 ASCII digits. Requires exactly
// 17 digits (asserted).
char ResidentIdCheckCharacter(std::string_view first17);

// For logs and display: the same number of bytes, all '*' except the first 4 characters
// (province and prefecture, never the person), which are kept only if all four are ASCII digits and
// more follows; "110101199003071234" becomes "1101**************". Safe on any input, valid or not.
std::string MaskResidentId(std::string_view text);

}  // namespace claims::identity
