#include "libs/base/money.h"

#include <cstdio>

namespace claims {

std::string FormatFen(Fen fen) {
  const bool negative = fen < 0;
  // Work in unsigned so that INT64_MIN formats too.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  // Written backwards into a buffer: 20 digits, 6 commas and a sign at most.
  char buf[32];
  char* p = buf + sizeof buf;
  int digits = 0;
  do {
    if (digits > 0 && digits % 3 == 0) *--p = ',';
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
    ++digits;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  return std::string(p, static_cast<size_t>(buf + sizeof buf - p));
}

std::string FormatYuan(Fen fen) {
  const bool negative = fen < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100),
                static_cast<unsigned long long>(magnitude % 100));
  return buf;
}

}  // namespace claims
