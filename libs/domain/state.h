#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "libs/domain/types.h"

namespace claims::domain {

// One accepted enrollment (one per plan year).
struct EnrollmentRecord {
  int year = 0;
  Date start;
  Date end;                 // Y-12-31, or earlier after a termination
  bool terminated = false;  // a termination has been applied (even one that cut nothing)
  bool renewal = false;     // decided when accepted, never changes
  Date continuous_start;    // decided when accepted, never changes
  Occupation occupation = Occupation::kUnspecified;

  bool Covers(Date d) const { return start <= d && d <= end; }
  friend bool operator==(const EnrollmentRecord&, const EnrollmentRecord&) = default;
};

// One claim and its current decision.
struct ClaimRecord {
  ClaimInput input;
  Outcome outcome = Outcome::kDenied;
  Fen payable = 0;
  Fen condolence = 0;
  std::vector<Reason> reasons;
  bool limit_applied = false;  // the limit cut the reserved payable (shown on approval)
  bool appealed = false;       // an appeal has been accepted once
  Date denied_on;              // date of the latest denial (claim date or review date)
  uint32_t revision = 0;

  // Live claims hold their payable against limits.
  bool live() const { return outcome == Outcome::kApproved || outcome == Outcome::kReferred; }
  friend bool operator==(const ClaimRecord&, const ClaimRecord&) = default;
};

// Everything earlier events of one member produced. A value: copy it to branch, compare it to
// check replays. Vectors keep log order (claims) or year order (enrollments).
struct MemberState {
  MemberId id;
  Gender gender = Gender::kUnspecified;  // set by the first accepted enrollment
  std::optional<Date> birth_date;        // likewise
  std::vector<EnrollmentRecord> enrollments;
  std::vector<ClaimRecord> claims;
  uint64_t last_sequence = 0;  // sequence number of the member's latest output

  const EnrollmentRecord* EnrollmentFor(int year) const;
  const ClaimRecord* FindClaim(const ClaimId& id) const;
  ClaimRecord* FindClaim(const ClaimId& id);

  friend bool operator==(const MemberState&, const MemberState&) = default;
};

}  // namespace claims::domain
