#pragma once

#include <cstdint>
#include <vector>

#include "libs/domain/types.h"

namespace claims::bench {

// Shape of a generated event log.
struct HistoryShape {
  int members = 10000;
  int first_year = 2023;
  int years = 3;
  // Claims per member per year, in thousandths (the real plan sees about 1 per 1,000; the
  // default is 50 times that so that the claim path weighs in).
  int claims_per_thousand_member_years = 50;
  // Terminations per member per year, in thousandths.
  int terminations_per_thousand = 50;
  uint64_t seed = 20261129;
};

// A plausible, deterministic event log in log order: each year every member enrolls (most on or
// before 01-31, so renewals dominate), some terminate, some claim over all six coverages; about
// half the referrals get a review, some denials an appeal. Members are interleaved.
std::vector<domain::Input> GenerateHistory(const HistoryShape& shape);

}  // namespace claims::bench
