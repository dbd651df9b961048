#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace claims {

// A civil date of the proleptic Gregorian calendar, years 0001-9999, stored as days since
// 1970-01-01. "D + N days" is exact calendar arithmetic. A value type: trivially copyable.
class Date {
 public:
  constexpr Date() = default;

  // Parses exactly "YYYY-MM-DD" (ten characters, a real calendar day); nullopt otherwise.
  static std::optional<Date> Parse(std::string_view text);
  // Requires a valid calendar day (asserted).
  static Date FromCivil(int year, int month, int day);
  static constexpr Date FromDays(int32_t days_since_epoch) { return Date(days_since_epoch); }

  int32_t days_since_epoch() const { return days_; }
  int year() const;
  int month() const;
  int day() const;

  Date AddDays(int32_t n) const { return Date(days_ + n); }
  // Days from `other` to this date (negative when this is earlier).
  int32_t DaysSince(Date other) const { return days_ - other.days_; }

  std::string ToString() const;  // "YYYY-MM-DD"

  friend constexpr auto operator<=>(Date, Date) = default;

 private:
  constexpr explicit Date(int32_t days) : days_(days) {}
  int32_t days_ = 0;
};

bool IsLeapYear(int year);
int DaysInMonth(int year, int month);

// Completed years from `birth` to `at` (negative when `at` precedes `birth`). Someone born on
// 02-29 turns a year older on 03-01 in a non-leap year.
int AgeInYears(Date birth, Date at);

}  // namespace claims
