#include "libs/domain/codec/enums.h"

#include "mutualaid/events/v1/common.pb.h"

namespace claims::codec {
namespace ev = ::mutualaid::events::v1;

// The domain enums are declared in the wire order (wire value = domain value, plus one where
// the domain has no "unspecified"); the static_asserts keep it so.
static_assert(ev::FEMALE == static_cast<int>(domain::Gender::kFemale));
static_assert(ev::OTHER == static_cast<int>(domain::Occupation::kOther));
static_assert(ev::HOUSEHOLD_PROPERTY_LOSS ==
              static_cast<int>(domain::Coverage::kHouseholdPropertyLoss));
static_assert(ev::REFERRED == static_cast<int>(domain::Outcome::kReferred) + 1);
static_assert(ev::APPEALED == static_cast<int>(domain::Reason::kAppealed) + 1);

domain::Gender GenderFromProto(int v) {
  return ev::Gender_IsValid(v) ? static_cast<domain::Gender>(v) : domain::Gender::kUnspecified;
}
int GenderToProto(domain::Gender v) { return static_cast<int>(v); }
domain::Occupation OccupationFromProto(int v) {
  return ev::Occupation_IsValid(v) ? static_cast<domain::Occupation>(v)
                                   : domain::Occupation::kUnspecified;
}
int OccupationToProto(domain::Occupation v) { return static_cast<int>(v); }
domain::Coverage CoverageFromProto(int v) {
  return ev::Coverage_IsValid(v) ? static_cast<domain::Coverage>(v)
                                 : domain::Coverage::kUnspecified;
}
int CoverageToProto(domain::Coverage v) { return static_cast<int>(v); }
int OutcomeToProto(domain::Outcome v) { return static_cast<int>(v) + 1; }
int ReasonToProto(domain::Reason v) { return static_cast<int>(v) + 1; }

}  // namespace claims::codec
