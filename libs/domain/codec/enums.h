#pragma once

#include "libs/domain/types.h"

// Enum mapping between the wire (mutualaid.events.v1 enums, as ints) and the domain. Unknown
// wire values map to the domain's kUnspecified.
namespace claims::codec {

domain::Gender GenderFromProto(int v);
int GenderToProto(domain::Gender v);
domain::Occupation OccupationFromProto(int v);
int OccupationToProto(domain::Occupation v);
domain::Coverage CoverageFromProto(int v);
int CoverageToProto(domain::Coverage v);
int OutcomeToProto(domain::Outcome v);
int ReasonToProto(domain::Reason v);

}  // namespace claims::codec
