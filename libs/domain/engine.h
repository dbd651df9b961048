#pragma once

#include "libs/domain/plan.h"
#include "libs/domain/state.h"
#include "libs/domain/types.h"

namespace claims::domain {

// Applies one input event of a member to that member's state under `plan` and returns what it
// produced: a Decision, an InputRejection, or nothing (an accepted enrollment or termination).
//
// Pure and deterministic: the result depends only on (state, input, plan). `state` changes only
// when the input is accepted, except that any non-empty output takes the next sequence number
// (`state.last_sequence`). The input's member must be `state.id` (asserted). `plan` must have
// passed ValidatePlan. Not an error: a denied claim (a Decision), a rejected input (an
// InputRejection).
Output Apply(MemberState& state, const Input& input, const Plan& plan);

}  // namespace claims::domain

namespace claims::domain {

// A rejection decided outside the member's own rules: a claim id another member's claim already
// uses (a fold over several members knows that; one member's state does not), or an event that
// could not be decoded. Changes nothing but the member's sequence number, which it takes.
Output RejectInput(MemberState& state, Rejection code, const ClaimId& claim, std::string detail,
                   const Plan& plan);

}  // namespace claims::domain
