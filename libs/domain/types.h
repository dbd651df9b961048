#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/money.h"

// The vocabulary of the rules engine: plain values, no protobuf, no I/O.
namespace claims::domain {

enum class Gender { kUnspecified, kMale, kFemale };
enum class Occupation { kUnspecified, kCourier, kFoodDelivery, kTruckDriver, kRideHailing, kOther };
enum class Coverage {
  kUnspecified,
  kCriticalIllness,
  kFemaleSpecificDisease,
  kAccidentalInjury,
  kChildAccident,
  kDeathFromIllness,
  kHouseholdPropertyLoss,
};
enum class Outcome { kApproved, kDenied, kReferred };

// In PLAN.md order; decisions list them in this order.
enum class Reason {
  kNotEnrolled,
  kMemberDeceased,
  kLateFiling,
  kWaitingPeriod,
  kNotEligible,
  kConditionNotCovered,
  kCauseNotCovered,
  kDuplicateClaim,
  kBenefitExhausted,
  kBelowDeductible,
  kMissingDocuments,
  kHighValue,
  kEarlyClaim,
  kFrequentClaims,
  kLimitApplied,
  kReviewDenied,
  kAppealed,
};

// Why an input changed nothing. Stable: the names are published in InputRejected.code.
enum class Rejection {
  kStartOutsidePlanYear,
  kDuplicateEnrollmentYear,
  kIdentityMismatch,
  kNoEnrollmentToTerminate,
  kClaimIdInUse,
  kUnknownClaim,
  kReviewOfClaimNotReferred,
  kAppealOfClaimNotDenied,
  kAppealLate,
  kAppealRepeated,
  kMalformedInput,  // the event could not be decoded; it changes nothing
};

enum class ReviewAction { kApprove, kDeny };

// The canonical upper-case names (PLAN.md spelling: "ACCIDENTAL_INJURY", "NOT_ENROLLED"...).
std::string_view Name(Gender v);
std::string_view Name(Occupation v);
std::string_view Name(Coverage v);
std::string_view Name(Outcome v);
std::string_view Name(Reason v);
std::string_view Name(Rejection v);
std::string_view Name(ReviewAction v);
// Inverse of Name; nullopt for anything else (exact, case-sensitive; "unspecified" is never
// parsed).
std::optional<Gender> ParseGender(std::string_view s);
std::optional<Occupation> ParseOccupation(std::string_view s);
std::optional<Coverage> ParseCoverage(std::string_view s);
std::optional<Outcome> ParseOutcome(std::string_view s);
std::optional<Reason> ParseReason(std::string_view s);
std::optional<ReviewAction> ParseReviewAction(std::string_view s);

using MemberId = std::string;
using ClaimId = std::string;

// ---- Inputs: one per event type of intake.events.v1, already validated for shape. ----

struct EnrollInput {
  MemberId member;
  Gender gender = Gender::kUnspecified;
  Date birth_date;
  Occupation occupation = Occupation::kUnspecified;
  int plan_year = 0;
  Date start_date;

  friend bool operator==(const EnrollInput&, const EnrollInput&) = default;
};

struct TerminateInput {
  MemberId member;
  Date date;

  friend bool operator==(const TerminateInput&, const TerminateInput&) = default;
};

struct ClaimInput {
  ClaimId claim;
  MemberId member;
  Coverage coverage = Coverage::kUnspecified;
  Date incident_date;
  Date date;  // submission date
  Fen amount = 0;
  std::string condition_code;
  std::string cause;
  std::string child_id;
  std::optional<Date> child_birth_date;
  std::vector<std::string> documents;

  friend bool operator==(const ClaimInput&, const ClaimInput&) = default;
};

struct ReviewInput {
  ClaimId claim;
  MemberId member;  // may be empty when only the claim id is known; the Fold resolves it
  Date date;
  ReviewAction action = ReviewAction::kApprove;

  friend bool operator==(const ReviewInput&, const ReviewInput&) = default;
};

struct AppealInput {
  ClaimId claim;
  MemberId member;  // as for ReviewInput
  Date date;

  friend bool operator==(const AppealInput&, const AppealInput&) = default;
};

using Input = std::variant<EnrollInput, TerminateInput, ClaimInput, ReviewInput, AppealInput>;

// The member an input belongs to ("" when the input names only a claim).
const MemberId& MemberOf(const Input& input);

// ---- Outputs. ----

enum class DecisionCause { kClaim, kReview, kAppeal };
std::string_view Name(DecisionCause v);

// The current decision on one claim. A later decision on the same claim replaces it.
struct Decision {
  ClaimId claim;
  MemberId member;
  Coverage coverage = Coverage::kUnspecified;
  Date incident_date;
  Outcome outcome = Outcome::kDenied;
  Fen payable = 0;
  Fen condolence = 0;  // granted by this approval; 0 unless APPROVED
  std::vector<Reason> reasons;
  std::vector<std::string> trace;  // readable steps with the numbers
  uint32_t revision = 1;           // 1 on submission, +1 per review or accepted appeal
  DecisionCause cause = DecisionCause::kClaim;
  Date decided_on;  // date of the input that led here
  std::string plan_id;
  std::string plan_sha256;

  friend bool operator==(const Decision&, const Decision&) = default;
};

// An input that changed nothing.
struct InputRejection {
  MemberId member;
  ClaimId claim;  // when the input named one
  Rejection code = Rejection::kUnknownClaim;
  std::string detail;
  std::string plan_id;
  std::string plan_sha256;

  friend bool operator==(const InputRejection&, const InputRejection&) = default;
};

// What one input produced: nothing (an accepted enrollment or termination), a decision, or a
// rejection. `sequence` is the member's output sequence number (1, 2, ...), 0 when no output.
struct Output {
  std::variant<std::monostate, Decision, InputRejection> body;
  uint64_t sequence = 0;

  bool empty() const { return std::holds_alternative<std::monostate>(body); }
  friend bool operator==(const Output&, const Output&) = default;
};

}  // namespace claims::domain
