#include "libs/base/date.h"

#include <gtest/gtest.h>

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
