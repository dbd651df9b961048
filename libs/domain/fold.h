#pragma once

#include <map>

#include "libs/domain/engine.h"

namespace claims::domain {

// The pure fold of an ordered event log over many members: every member's state, and which
// member owns which claim id. Live processing, restore after a rebalance, the audit replay and
// the conformance runner all reduce to this. Deterministic; ordered maps only. Not thread-safe.
class Fold {
 public:
  // Applies one input. A review or appeal that names no member is routed to the owner of its
  // claim; if no member owns that claim, the result is an UNKNOWN_CLAIM rejection with
  // sequence 0 (it belongs to no member). A claim whose id another member uses is rejected.
  Output Apply(const Input& input, const Plan& plan);

  // nullptr when the member has no state yet.
  const MemberState* Member(const MemberId& id) const;
  const std::map<MemberId, MemberState>& members() const { return members_; }
  // The owner of a claim id, or nullptr.
  const MemberId* OwnerOf(const ClaimId& claim) const;

 private:
  MemberState& StateOf(const MemberId& id);

  std::map<MemberId, MemberState> members_;
  std::map<ClaimId, MemberId> claim_owner_;
};

}  // namespace claims::domain
