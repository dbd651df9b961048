#include "libs/domain/fold.h"

namespace claims::domain {

MemberState& Fold::StateOf(const MemberId& id) {
  auto it = members_.lower_bound(id);
  if (it == members_.end() || it->first != id) {
    it = members_.emplace_hint(it, id, MemberState{});
    it->second.id = id;
  }
  return it->second;
}

const MemberState* Fold::Member(const MemberId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

const MemberId* Fold::OwnerOf(const ClaimId& claim) const {
  auto it = claim_owner_.find(claim);
  return it == claim_owner_.end() ? nullptr : &it->second;
}

Output Fold::Apply(const Input& input, const Plan& plan) {
  if (const auto* claim = std::get_if<ClaimInput>(&input)) {
    MemberState& state = StateOf(claim->member);
    auto [it, inserted] = claim_owner_.emplace(claim->claim, claim->member);
    if (!inserted && it->second != claim->member) {
      return RejectInput(state, Rejection::kClaimIdInUse, claim->claim,
                         "claim id " + claim->claim + " is already in use by another member", plan);
    }
    return domain::Apply(state, input, plan);
  }
  const ClaimId* named_claim = nullptr;
  if (const auto* review = std::get_if<ReviewInput>(&input)) named_claim = &review->claim;
  if (const auto* appeal = std::get_if<AppealInput>(&input)) named_claim = &appeal->claim;
  const MemberId& member = MemberOf(input);
  if (named_claim != nullptr && member.empty()) {
    const MemberId* owner = OwnerOf(*named_claim);
    if (owner == nullptr) {
      InputRejection r;
      r.claim = *named_claim;
      r.code = Rejection::kUnknownClaim;
      r.detail = "no claim " + *named_claim;
      r.plan_id = plan.id;
      r.plan_sha256 = plan.sha256;
      return Output{std::move(r), 0};
    }
    Input routed = input;
    std::visit([&](auto& in) { in.member = *owner; }, routed);
    return domain::Apply(StateOf(*owner), routed, plan);
  }
  return domain::Apply(StateOf(member), input, plan);
}

}  // namespace claims::domain
