#pragma once

#include "libs/base/date.h"

namespace claims::runtime {

// The business date of a service that stamps inputs ("today" in China Standard Time, UTC+8):
// intake's submissions, reviewers' reviews. The date travels in the event it stamps; nothing
// that decides or pays ever reads a clock. Thread-safe.
class BusinessClock {
 public:
  virtual ~BusinessClock() = default;
  virtual Date Today() const = 0;
};

// Today in China Standard Time, from the system clock.
class SystemBusinessClock : public BusinessClock {
 public:
  Date Today() const override;
};

// A fixed business date, for development and tests (--business-date).
class FixedBusinessClock : public BusinessClock {
 public:
  explicit FixedBusinessClock(Date today) : today_(today) {}
  Date Today() const override { return today_; }

 private:
  Date today_;
};

}  // namespace claims::runtime
