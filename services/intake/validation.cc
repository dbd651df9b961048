#include "services/intake/validation.h"

#include "libs/base/text.h"
#include "libs/identity/bank_card.h"
#include "libs/identity/resident_id.h"

namespace claims::intake {
namespace {

namespace ev = ::mutualaid::events::v1;

// Well-formed UTF-8 text of at most `max` characters (1..max when required), as the API states
// its lengths: a Chinese name of 64 characters is 192 bytes.
void CheckText(const std::string& field, const std::string& value, size_t max, bool required,
               std::vector<FieldViolation>& out) {
  if (value.empty()) {
    if (required) out.push_back({field, "is required"});
    return;
  }
  const std::string too_long = "is longer than " + std::to_string(max) + " characters";
  if (value.size() > 4 * max) {  // more bytes than any `max` characters take
    out.push_back({field, too_long});
    return;
  }
  if (!IsValidUtf8(value) || HasControlCharacter(value)) {
    out.push_back({field, "is not valid UTF-8 text"});
    return;
  }
  if (CodePointCount(value) > max) out.push_back({field, too_long});
}

// A "YYYY-MM-DD" date, optionally not after `today`.
std::optional<Date> CheckDate(const std::string& field, const std::string& value, bool required,
                              std::optional<Date> not_after, std::vector<FieldViolation>& out) {
  if (value.empty()) {
    if (required) out.push_back({field, "is required"});
    return std::nullopt;
  }
  std::optional<Date> d = Date::Parse(value);
  if (!d.has_value()) {
    out.push_back({field, "is not a YYYY-MM-DD calendar date"});
    return std::nullopt;
  }
  if (not_after.has_value() && *d > *not_after) {
    out.push_back({field, "is in the future (today is " + not_after->ToString() + ")"});
  }
  return d;
}

void CheckId(const std::string& field, const std::string& value, std::vector<FieldViolation>& out) {
  if (value.empty()) {
    out.push_back({field, "is required"});
    return;
  }
  if (value.size() > 128) {
    out.push_back({field, "is longer than 128 characters"});
    return;
  }
  for (char c : value) {
    if (c < 0x21 || c > 0x7e) {
      out.push_back({field, "must be printable ASCII without spaces"});
      return;
    }
  }
}

Status Verdict(std::vector<FieldViolation> violations, const char* what) {
  if (violations.empty()) return Status::Ok();
  return InvalidArgument(std::string("invalid ") + what, std::move(violations));
}

}  // namespace

void CheckIdempotencyKey(const std::string& key, std::vector<FieldViolation>& out) {
  CheckId("idempotency_key", key, out);
}

Result<ValidEnrollment> ValidateEnroll(const api::EnrollMemberRequest& r, Date today) {
  std::vector<FieldViolation> v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  ValidEnrollment valid;
  Result<identity::ResidentId> id =
      identity::ParseResidentId(r.resident_id_number(), today, "resident_id_number");
  if (!id.ok()) {
    for (const FieldViolation& f : id.status().violations()) v.push_back(f);
  } else {
    valid.resident_id = *id;
  }
  CheckText("name", r.name(), 64, true, v);
  if (!r.phone().empty()) {
    bool ok = r.phone().size() == 11 && r.phone()[0] == '1';
    for (char c : r.phone()) ok = ok && c >= '0' && c <= '9';
    if (!ok) v.push_back({"phone", "must be an 11-digit mobile number starting with 1"});
  }
  if (r.gender() != ev::MALE && r.gender() != ev::FEMALE) {
    v.push_back({"gender", "must be MALE or FEMALE"});
  } else if (id.ok()) {
    const bool male = id->gender == identity::Gender::kMale;
    if (male != (r.gender() == ev::MALE)) {
      v.push_back({"gender", "does not match the gender digit of resident_id_number"});
    }
  }
  if (!ev::Occupation_IsValid(r.occupation()) || r.occupation() == ev::OCCUPATION_UNSPECIFIED) {
    v.push_back({"occupation",
                 "must be one of COURIER, FOOD_DELIVERY, TRUCK_DRIVER, "
                 "RIDE_HAILING, OTHER"});
  }
  if (r.plan_year() < 2000 || r.plan_year() > 2100) {
    v.push_back({"plan_year", "must be a year 2000-2100"});
  }
  std::optional<Date> start = CheckDate("start_date", r.start_date(), true, std::nullopt, v);
  if (start.has_value()) {
    valid.start_date = *start;
    if (start->year() != r.plan_year()) v.push_back({"start_date", "must lie in plan_year"});
  }
  const Status card = identity::ValidateBankCard(r.bank_card_number(), "bank_card_number");
  for (const FieldViolation& f : card.violations()) v.push_back(f);
  CheckText("bank_name", r.bank_name(), 64, true, v);
  if (!v.empty()) return InvalidArgument("invalid enrollment", std::move(v));
  return valid;
}

Status ValidateTerminate(const api::TerminateMemberRequest& r) {
  std::vector<FieldViolation> v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("member_id", r.member_id(), v);
  CheckDate("date", r.date(), true, std::nullopt, v);
  return Verdict(std::move(v), "termination");
}

bool LooksLikeResidentId(const std::string& text) {
  if (text.size() != 18) return false;
  for (size_t i = 0; i < 18; ++i) {
    const char ch = text[i];
    const bool digit = ch >= '0' && ch <= '9';
    if (!digit && !(i == 17 && (ch == 'X' || ch == 'x'))) return false;
  }
  return true;
}

Status ValidateSubmitClaim(const api::SubmitClaimRequest& r, Date today) {
  std::vector<FieldViolation> v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("member_id", r.member_id(), v);
  const int c = r.coverage();
  if (!ev::Coverage_IsValid(c) || c == ev::COVERAGE_UNSPECIFIED) {
    v.push_back({"coverage", "must be one of the six coverages"});
  }
  CheckDate("incident_date", r.incident_date(), true, today, v);
  if (r.amount_fen() < 0 || r.amount_fen() > kMaxAmountFen) {
    v.push_back({"amount_fen", "must be 0 to 1,000,000,000 fen"});
  }
  const bool illness = c == ev::CRITICAL_ILLNESS || c == ev::FEMALE_SPECIFIC_DISEASE;
  if (illness) CheckText("condition_code", r.condition_code(), 16, true, v);
  if (!illness && !r.condition_code().empty()) {
    v.push_back({"condition_code", "only for CRITICAL_ILLNESS and FEMALE_SPECIFIC_DISEASE"});
  }
  if (c == ev::HOUSEHOLD_PROPERTY_LOSS) {
    CheckText("cause", r.cause(), 32, true, v);
  } else if (!r.cause().empty()) {
    v.push_back({"cause", "only for HOUSEHOLD_PROPERTY_LOSS"});
  }
  if (c == ev::CHILD_ACCIDENT) {
    CheckText("child_id", r.child_id(), 64, true, v);
    const std::optional<Date> born =
        CheckDate("child_birth_date", r.child_birth_date(), true, today, v);
    if (LooksLikeResidentId(r.child_id())) {
      // The child's resident ID number (intake sends on only its pseudonym): a valid one, whose
      // birth date is the child's.
      Result<identity::ResidentId> id = identity::ParseResidentId(r.child_id(), today, "child_id");
      if (!id.ok()) {
        v.insert(v.end(), id.status().violations().begin(), id.status().violations().end());
      } else if (born.has_value() && id->birth_date != *born) {
        v.push_back({"child_birth_date", "is not the birth date in the child's ID number"});
      }
    }
  } else {
    if (!r.child_id().empty()) v.push_back({"child_id", "only for CHILD_ACCIDENT"});
    if (!r.child_birth_date().empty()) {
      v.push_back({"child_birth_date", "only for CHILD_ACCIDENT"});
    }
  }
  if (static_cast<size_t>(r.documents_size()) > kMaxDocuments) {
    v.push_back({"documents", "at most " + std::to_string(kMaxDocuments) + " document types"});
  } else {
    for (int i = 0; i < r.documents_size(); ++i) {
      CheckText("documents[" + std::to_string(i) + "]", r.documents(i), 64, true, v);
    }
  }
  CheckText("medical_detail", r.medical_detail(), 4000, false, v);
  return Verdict(std::move(v), "claim");
}

Status ValidateAppeal(const api::AppealClaimRequest& r) {
  std::vector<FieldViolation> v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("claim_id", r.claim_id(), v);
  CheckText("reason", r.reason(), kMaxReasonCharacters, false, v);
  return Verdict(std::move(v), "appeal");
}

}  // namespace claims::intake
