#include "libs/base/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

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

// FormatFen as it was written first: the reference for the faster one.
std::string GroupedByStringFen(Fen fen) {
  const bool negative = fen < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  std::string digits = std::to_string(magnitude);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

TEST(MoneyTest, FormatsFenExactlyAsBefore) {
  std::vector<Fen> values;
  for (Fen v = -200000; v <= 200000; ++v) values.push_back(v);
  // Every power of ten and its neighbours, both signs, and the extremes.
  for (Fen p = 1; p <= std::numeric_limits<Fen>::max() / 10; p *= 10) {
    for (Fen delta = -2; delta <= 2; ++delta) {
      values.push_back(p * 10 + delta);
      values.push_back(-(p * 10 + delta));
    }
  }
  values.push_back(std::numeric_limits<Fen>::max());
  values.push_back(std::numeric_limits<Fen>::max() - 1);
  values.push_back(std::numeric_limits<Fen>::min());
  values.push_back(std::numeric_limits<Fen>::min() + 1);
  // Deterministic pseudo-random values of every magnitude.
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    values.push_back(static_cast<Fen>(x >> (i % 64)));
    values.push_back(static_cast<Fen>(x));
  }
  for (Fen v : values) ASSERT_EQ(FormatFen(v), GroupedByStringFen(v)) << v;
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
