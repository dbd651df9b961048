#include "libs/domain/state.h"

namespace claims::domain {

const EnrollmentRecord* MemberState::EnrollmentFor(int year) const {
  for (const EnrollmentRecord& e : enrollments) {
    if (e.year == year) return &e;
  }
  return nullptr;
}

const ClaimRecord* MemberState::FindClaim(const ClaimId& id) const {
  for (const ClaimRecord& c : claims) {
    if (c.input.claim == id) return &c;
  }
  return nullptr;
}

ClaimRecord* MemberState::FindClaim(const ClaimId& id) {
  for (ClaimRecord& c : claims) {
    if (c.input.claim == id) return &c;
  }
  return nullptr;
}

}  // namespace claims::domain
