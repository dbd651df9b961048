#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"
#include "libs/identity/resident_id.h"
#include "mutualaid/intake/v1/intake.pb.h"

// Checks of every partner request, before anything is recorded. Pure: `today` is the business
// date the caller supplies. Each function returns every violation it finds (field paths as in
// the request message), never only the first.
namespace claims::intake {

namespace api = ::mutualaid::intake::v1;

inline constexpr int64_t kMaxAmountFen = 1'000'000'000;
inline constexpr size_t kMaxDocuments = 20;
inline constexpr size_t kMaxReasonCharacters = 500;  // an appeal's reason

struct ValidEnrollment {
  identity::ResidentId resident_id;
  Date start_date;
};

// Shared checks of one request field.
void CheckIdempotencyKey(const std::string& key, std::vector<FieldViolation>& out);

Result<ValidEnrollment> ValidateEnroll(const api::EnrollMemberRequest& r, Date today);

// 18 characters shaped as a resident ID number (17 digits, then a digit or X): a child_id given
// so is the child's ID number, which is validated as one and never leaves intake in clear.
bool LooksLikeResidentId(const std::string& text);
Status ValidateTerminate(const api::TerminateMemberRequest& r);
Status ValidateSubmitClaim(const api::SubmitClaimRequest& r, Date today);
Status ValidateAppeal(const api::AppealClaimRequest& r);

}  // namespace claims::intake
