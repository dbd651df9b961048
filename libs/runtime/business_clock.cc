#include "libs/runtime/business_clock.h"

#include <ctime>

namespace claims::runtime {

Date SystemBusinessClock::Today() const {
  constexpr int64_t kChinaOffsetSeconds = 8 * 3600;
  const int64_t now = static_cast<int64_t>(std::time(nullptr)) + kChinaOffsetSeconds;
  return Date::FromDays(static_cast<int32_t>(now / 86400));
}

}  // namespace claims::runtime
