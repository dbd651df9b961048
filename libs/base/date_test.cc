#include "libs/base/date.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdio>
#include <string>

namespace claims {
namespace {

TEST(DateTest, ParsesAndPrintsRoundTrip) {
  for (const char* text : {"1970-01-01", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31",
                           "2025-12-31", "1969-12-31"}) {
    auto d = Date::Parse(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(d->ToString(), text);
  }
}

// ToString as it was written first, with snprintf: the reference for the faster one.
std::string PrintfDate(Date d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year(), d.month(), d.day());
  return buf;
}

TEST(DateTest, PrintsEveryDayExactlyAsPrintfDid) {
  // Every day from year -399 (printed with a sign) to 2800, which covers every day of the
  // 400-year Gregorian cycle many times; then every seventh day up to four centuries past 9999
  // (ten thousand and up print a fifth digit).
  const int32_t first = Date::FromCivil(1, 1, 1).days_since_epoch() - 146097;
  const int32_t every_day_until = Date::FromCivil(2800, 12, 31).days_since_epoch();
  const int32_t last = Date::FromCivil(9999, 12, 31).days_since_epoch() + 146097;
  int mismatches = 0;
  for (int32_t days = first; days <= last && mismatches < 10;
       days += days < every_day_until ? 1 : 7) {
    const Date d = Date::FromDays(days);
    if (d.ToString() != PrintfDate(d)) {
      ++mismatches;
      ADD_FAILURE() << "days " << days << ": " << d.ToString() << " != " << PrintfDate(d);
    }
  }
  // Far outside, across the whole range the day count allows.
  for (int64_t days = INT32_MIN; days <= INT32_MAX - 719468; days += 7919) {
    const Date d = Date::FromDays(static_cast<int32_t>(days));
    ASSERT_EQ(d.ToString(), PrintfDate(d)) << "days " << days;
  }
  EXPECT_EQ(Date::FromCivil(1, 1, 1).AddDays(-1).ToString(), "0000-12-31");
  EXPECT_EQ(Date::FromCivil(1, 1, 1).AddDays(-367).ToString(), "-001-12-31");
  EXPECT_EQ(Date::FromCivil(9999, 12, 31).AddDays(1).ToString(), "10000-01-01");
  EXPECT_EQ(Date().ToString(), "1970-01-01");
}

TEST(DateTest, RejectsMalformedOrImpossibleDays) {
  for (const char* text : {"", "2024-2-29", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10",
                           "2024-04-31", "2024/04/01", "2024-04-01T00:00", "0000-01-01",
                           "２０２４-01-01", " 2024-01-01", "2024-01-0a"}) {
    EXPECT_FALSE(Date::Parse(text).has_value()) << text;
  }
}

TEST(DateTest, AddsCalendarDaysAcrossLeapDays) {
  const Date d = *Date::Parse("2024-02-10");
  EXPECT_EQ(d.AddDays(365).ToString(), "2025-02-09");
  EXPECT_EQ(Date::Parse("2024-01-10")->AddDays(90).ToString(), "2024-04-09");
  EXPECT_EQ(Date::Parse("2024-12-31")->AddDays(1).ToString(), "2025-01-01");
  EXPECT_EQ(Date::Parse("2024-03-01")->AddDays(-1).ToString(), "2024-02-29");
  EXPECT_EQ(Date::Parse("2025-03-01")->DaysSince(*Date::Parse("2024-03-01")), 365);
}

TEST(DateTest, ExposesCivilFields) {
  const Date d = *Date::Parse("2026-11-29");
  EXPECT_EQ(d.year(), 2026);
  EXPECT_EQ(d.month(), 11);
  EXPECT_EQ(d.day(), 29);
  EXPECT_EQ(Date::FromCivil(2026, 11, 29), d);
}

TEST(DateTest, AgeCountsCompletedYears) {
  const Date birth = *Date::Parse("2006-07-15");
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2024-07-14")), 17);
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2024-07-15")), 18);
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2006-07-14")), -1);
}

TEST(DateTest, LeapDayBirthdayTurnsOlderOnMarchFirstInCommonYears) {
  const Date birth = *Date::Parse("2008-02-29");
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2026-02-28")), 17);
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2026-03-01")), 18);
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2028-02-28")), 19);
  EXPECT_EQ(AgeInYears(birth, *Date::Parse("2028-02-29")), 20);
}

}  // namespace
}  // namespace claims
