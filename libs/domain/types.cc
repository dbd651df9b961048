#include "libs/domain/types.h"

#include <array>
#include <utility>

namespace claims::domain {
namespace {

template <typename E, size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<Gender, 3> kGenders{{
    {Gender::kUnspecified, "GENDER_UNSPECIFIED"},
    {Gender::kMale, "MALE"},
    {Gender::kFemale, "FEMALE"},
}};
constexpr NameTable<Occupation, 6> kOccupations{{
    {Occupation::kUnspecified, "OCCUPATION_UNSPECIFIED"},
    {Occupation::kCourier, "COURIER"},
    {Occupation::kFoodDelivery, "FOOD_DELIVERY"},
    {Occupation::kTruckDriver, "TRUCK_DRIVER"},
    {Occupation::kRideHailing, "RIDE_HAILING"},
    {Occupation::kOther, "OTHER"},
}};
constexpr NameTable<Coverage, 7> kCoverages{{
    {Coverage::kUnspecified, "COVERAGE_UNSPECIFIED"},
    {Coverage::kCriticalIllness, "CRITICAL_ILLNESS"},
    {Coverage::kFemaleSpecificDisease, "FEMALE_SPECIFIC_DISEASE"},
    {Coverage::kAccidentalInjury, "ACCIDENTAL_INJURY"},
    {Coverage::kChildAccident, "CHILD_ACCIDENT"},
    {Coverage::kDeathFromIllness, "DEATH_FROM_ILLNESS"},
    {Coverage::kHouseholdPropertyLoss, "HOUSEHOLD_PROPERTY_LOSS"},
}};
constexpr NameTable<Outcome, 3> kOutcomes{{
    {Outcome::kApproved, "APPROVED"},
    {Outcome::kDenied, "DENIED"},
    {Outcome::kReferred, "REFERRED"},
}};
constexpr NameTable<Reason, 17> kReasons{{
    {Reason::kNotEnrolled, "NOT_ENROLLED"},
    {Reason::kMemberDeceased, "MEMBER_DECEASED"},
    {Reason::kLateFiling, "LATE_FILING"},
    {Reason::kWaitingPeriod, "WAITING_PERIOD"},
    {Reason::kNotEligible, "NOT_ELIGIBLE"},
    {Reason::kConditionNotCovered, "CONDITION_NOT_COVERED"},
    {Reason::kCauseNotCovered, "CAUSE_NOT_COVERED"},
    {Reason::kDuplicateClaim, "DUPLICATE_CLAIM"},
    {Reason::kBenefitExhausted, "BENEFIT_EXHAUSTED"},
    {Reason::kBelowDeductible, "BELOW_DEDUCTIBLE"},
    {Reason::kMissingDocuments, "MISSING_DOCUMENTS"},
    {Reason::kHighValue, "HIGH_VALUE"},
    {Reason::kEarlyClaim, "EARLY_CLAIM"},
    {Reason::kFrequentClaims, "FREQUENT_CLAIMS"},
    {Reason::kLimitApplied, "LIMIT_APPLIED"},
    {Reason::kReviewDenied, "REVIEW_DENIED"},
    {Reason::kAppealed, "APPEALED"},
}};
constexpr NameTable<Rejection, 11> kRejections{{
    {Rejection::kStartOutsidePlanYear, "START_OUTSIDE_PLAN_YEAR"},
    {Rejection::kDuplicateEnrollmentYear, "DUPLICATE_ENROLLMENT_YEAR"},
    {Rejection::kIdentityMismatch, "IDENTITY_MISMATCH"},
    {Rejection::kNoEnrollmentToTerminate, "NO_ENROLLMENT_TO_TERMINATE"},
    {Rejection::kClaimIdInUse, "CLAIM_ID_IN_USE"},
    {Rejection::kUnknownClaim, "UNKNOWN_CLAIM"},
    {Rejection::kReviewOfClaimNotReferred, "REVIEW_OF_CLAIM_NOT_REFERRED"},
    {Rejection::kAppealOfClaimNotDenied, "APPEAL_OF_CLAIM_NOT_DENIED"},
    {Rejection::kAppealLate, "APPEAL_LATE"},
    {Rejection::kAppealRepeated, "APPEAL_REPEATED"},
    {Rejection::kMalformedInput, "MALFORMED_INPUT"},
}};
constexpr NameTable<ReviewAction, 2> kReviewActions{{
    {ReviewAction::kApprove, "APPROVE"},
    {ReviewAction::kDeny, "DENY"},
}};
constexpr NameTable<DecisionCause, 3> kDecisionCauses{{
    {DecisionCause::kClaim, "claim"},
    {DecisionCause::kReview, "review"},
    {DecisionCause::kAppeal, "appeal"},
}};

template <typename E, size_t N>
std::string_view Lookup(const NameTable<E, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

// Parses a name; the first entry of tables that have an "unspecified" value is never parsed.
template <typename E, size_t N>
std::optional<E> Parse(const NameTable<E, N>& table, std::string_view text, size_t first = 0) {
  for (size_t i = first; i < N; ++i) {
    if (table[i].second == text) return table[i].first;
  }
  return std::nullopt;
}

}  // namespace

std::string_view Name(Gender v) { return Lookup(kGenders, v); }
std::string_view Name(Occupation v) { return Lookup(kOccupations, v); }
std::string_view Name(Coverage v) { return Lookup(kCoverages, v); }
std::string_view Name(Outcome v) { return Lookup(kOutcomes, v); }
std::string_view Name(Reason v) { return Lookup(kReasons, v); }
std::string_view Name(Rejection v) { return Lookup(kRejections, v); }
std::string_view Name(ReviewAction v) { return Lookup(kReviewActions, v); }
std::string_view Name(DecisionCause v) { return Lookup(kDecisionCauses, v); }

std::optional<Gender> ParseGender(std::string_view s) { return Parse(kGenders, s, 1); }
std::optional<Occupation> ParseOccupation(std::string_view s) { return Parse(kOccupations, s, 1); }
std::optional<Coverage> ParseCoverage(std::string_view s) { return Parse(kCoverages, s, 1); }
std::optional<Outcome> ParseOutcome(std::string_view s) { return Parse(kOutcomes, s); }
std::optional<Reason> ParseReason(std::string_view s) { return Parse(kReasons, s); }
std::optional<ReviewAction> ParseReviewAction(std::string_view s) {
  return Parse(kReviewActions, s);
}

const MemberId& MemberOf(const Input& input) {
  return std::visit([](const auto& in) -> const MemberId& { return in.member; }, input);
}

}  // namespace claims::domain
