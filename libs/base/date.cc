#include "libs/base/date.h"

#include <cassert>
#include <cstdio>

namespace claims {
namespace {

struct Civil {
  int year;
  int month;
  int day;
};

// Howard Hinnant's days_from_civil / civil_from_days.
int32_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil CivilFromDays(int32_t z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = yoe + era * 400;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp + (mp < 10 ? 3 : -9);
  return Civil{y + (m <= 2), m, d};
}

}  // namespace

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

std::optional<Date> Date::Parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t from, size_t count) -> int {
    int value = 0;
    for (size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int y = digits(0, 4);
  const int m = digits(5, 2);
  const int d = digits(8, 2);
  if (y < 1 || m < 1 || m > 12 || d < 1) return std::nullopt;
  if (d > DaysInMonth(y, m)) return std::nullopt;
  return Date(DaysFromCivil(y, m, d));
}

Date Date::FromCivil(int year, int month, int day) {
  assert(year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
         day <= DaysInMonth(year, month));
  return Date(DaysFromCivil(year, month, day));
}

int Date::year() const { return CivilFromDays(days_).year; }
int Date::month() const { return CivilFromDays(days_).month; }
int Date::day() const { return CivilFromDays(days_).day; }

std::string Date::ToString() const {
  const Civil c = CivilFromDays(days_);
  if (c.year < 0 || c.year > 9999) {  // outside the four digits every real date has
    char buf[24];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
    return buf;
  }
  // "%04d-%02d-%02d" without snprintf, which dominated the cost of printing a date.
  char buf[10] = {static_cast<char>('0' + c.year / 1000),
                  static_cast<char>('0' + c.year / 100 % 10),
                  static_cast<char>('0' + c.year / 10 % 10),
                  static_cast<char>('0' + c.year % 10),
                  '-',
                  static_cast<char>('0' + c.month / 10),
                  static_cast<char>('0' + c.month % 10),
                  '-',
                  static_cast<char>('0' + c.day / 10),
                  static_cast<char>('0' + c.day % 10)};
  return std::string(buf, sizeof buf);
}

int AgeInYears(Date birth, Date at) {
  const Civil b = CivilFromDays(birth.days_since_epoch());
  const Civil a = CivilFromDays(at.days_since_epoch());
  int age = a.year - b.year;
  if (a.month < b.month || (a.month == b.month && a.day < b.day)) --age;
  return age;
}

}  // namespace claims
