#pragma once

#include <string>

#include "libs/base/status.h"
#include "libs/domain/state.h"

namespace claims::codec {

// A member's state as stored bytes (mutualaid.adjudication.v1.MemberState) and back. The round
// trip is exact: Decode(Encode(s)) == s for every state the engine can produce.
std::string EncodeMemberState(const domain::MemberState& state);
// DATA_LOSS when the bytes are not a stored member state.
Result<domain::MemberState> DecodeMemberState(const std::string& bytes);

}  // namespace claims::codec
