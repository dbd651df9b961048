#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libs/base/date.h"
#include "mutualaid/events/v1/common.pb.h"
#include "mutualaid/intake/v1/intake.pb.h"

namespace claims::demo {

// The shape of a generated demo year.
struct DemoShape {
  int plan_year = 2025;
  int members = 2000;
  uint64_t seed = 20250101;
};

// One claim of the demo, planned against a member, with the outcome the plan rules give it.
// `request.member_id` is empty: the member id is the member's pseudonym, which only intake knows
// (the loader fills it in from EnrollMember).
struct PlannedClaim {
  int member_index = 0;
  std::string scenario;  // e.g. "critical illness, covered condition"
  mutualaid::events::v1::Outcome expected = mutualaid::events::v1::OUTCOME_UNSPECIFIED;
  mutualaid::intake::v1::SubmitClaimRequest request;
};

// A whole demo year: enrollments in member order and the claims, in submission order.
struct DemoYear {
  std::vector<mutualaid::intake::v1::EnrollMemberRequest> enrollments;
  std::vector<PlannedClaim> claims;
};

// Generates the demo year of `shape`. Pure and deterministic: the same shape gives the same
// requests, byte for byte (own PRNG, no clock). Every resident ID number is valid under GB 11643
// (computed check character, birth date before the plan year) and unique; every bank card passes
// Luhn. About 90% of the members enroll from January 1, the rest from September 1 (late joiners,
// whose illness claims meet the waiting period). About 15% of the members claim, once each,
// spread over all six coverages and chosen so that every outcome (APPROVED, DENIED, REFERRED)
// occurs. `shape.members` must be at least 400 (asserted) so every scenario has members.
DemoYear GenerateDemoYear(const DemoShape& shape);

// The date the demo's services run at (their --business-date): December 15 of the plan year, so
// that every incident of the year is in the past and no claim is filed late.
Date DemoBusinessDate(int plan_year);

}  // namespace claims::demo
