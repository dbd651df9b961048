#pragma once

#include <cstdint>
#include <string>

namespace claims {

// Money is an integer number of fen (分; 1 yuan = 100 fen). No floating point, anywhere.
using Fen = int64_t;

// Division rounding toward negative infinity, for any signs. Requires denominator != 0.
constexpr int64_t FloorDiv(int64_t numerator, int64_t denominator) {
  int64_t q = numerator / denominator;
  if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0))) --q;
  return q;
}

// "1,234,567" (fen, grouped by thousands), for traces a reviewer reads.
std::string FormatFen(Fen fen);
// "12345.67" (yuan with exactly two decimals), as banks and ISO 20022 want it.
std::string FormatYuan(Fen fen);

}  // namespace claims
