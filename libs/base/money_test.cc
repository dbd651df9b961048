#include "libs/base/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace claims {
namespace {

TEST(MoneyTest, FloorDivRoundsTowardNegativeInfinity) {
  EXPECT_EQ(FloorDiv(9, 10), 0);
  EXPECT_EQ(FloorDiv(18, 10), 1);
  EXPECT_EQ(FloorDiv(-1, 10), -1);
  EXPECT_EQ(FloorDiv(-10, 10), -1);
  EXPECT_EQ(FloorDiv(-11, 10), -2);
  EXPECT_EQ(FloorDiv(11, -10), -2);
  EXPECT_EQ(FloorDiv(-900000, 100), -9000);
}

TEST(MoneyTest, FormatsFenWithThousandsSeparators) {
  EXPECT_EQ(FormatFen(0), "0");
  EXPECT_EQ(FormatFen(999), "999");
  EXPECT_EQ(FormatFen(45000), "45,000");
  EXPECT_EQ(FormatFen(1000000), "1,000,000");
  EXPECT_EQ(FormatFen(-9000), "-9,000");
  EXPECT_EQ(FormatFen(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(MoneyTest, FormatsYuanWithTwoDecimals) {
  EXPECT_EQ(FormatYuan(0), "0.00");
  EXPECT_EQ(FormatYuan(5), "0.05");
  EXPECT_EQ(FormatYuan(45000), "450.00");
  EXPECT_EQ(FormatYuan(123456), "1234.56");
  EXPECT_EQ(FormatYuan(-150), "-1.50");
}

}  // namespace
}  // namespace claims
