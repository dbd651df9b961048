#include "libs/domain/engine.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace claims::domain {
namespace {

// Reviewer-facing wording of a limit scope.
const char* ScopeText(LimitScope scope) {
  switch (scope) {
    case LimitScope::kOncePerPlanYear:
      return "once per plan year";
    case LimitScope::kOnceEver:
      return "once per member, ever";
    case LimitScope::kAmountPerMemberPlanYear:
      return "per member per plan year";
    case LimitScope::kAmountPerChildPlanYear:
      return "per child per plan year";
    case LimitScope::kUnspecified:
      break;
  }
  return "unspecified";
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string Join(std::string a, std::string_view b) {
  a += b;
  return a;
}

// The formula's result, which may be 0 or negative. 128-bit so that no amount can overflow.
Fen FormulaValue(const Formula& f, Fen amount) {
  const __int128 base = static_cast<__int128>(amount) - f.deductible;
  const __int128 product = base * f.numerator;
  __int128 q = product / f.denominator;
  if (product % f.denominator != 0 && ((product < 0) != (f.denominator < 0))) --q;
  if (q > INT64_MAX) return INT64_MAX;
  if (q < INT64_MIN) return INT64_MIN;
  return static_cast<Fen>(q);
}

std::string FormulaText(const Formula& f, Fen amount, Fen value) {
  return "formula floor((" + FormatFen(amount) + " - " + FormatFen(f.deductible) + ") * " +
         std::to_string(f.numerator) + " / " + std::to_string(f.denominator) +
         ") = " + FormatFen(value);
}

// The fixed benefit of `rule` is live: a live claim of the member with the same coverage and
// payable above 0, with an incident in the same plan year (or at any date for kOnceEver).
const ClaimRecord* LiveFixedBenefit(const MemberState& s, const CoverageRule& rule, int year) {
  for (const ClaimRecord& c : s.claims) {
    if (!c.live() || c.payable <= 0 || c.input.coverage != rule.coverage) continue;
    if (rule.limit_scope == LimitScope::kOnceEver || c.input.incident_date.year() == year) {
      return &c;
    }
  }
  return nullptr;
}

struct LimitUse {
  Fen used = 0;
  Fen left = 0;
};

// What live claims already hold of an amount limit, for a claim of `year` (and `child_id`).
LimitUse AmountLimitUse(const MemberState& s, const CoverageRule& rule, int year,
                        const std::string& child_id) {
  LimitUse use;
  for (const ClaimRecord& c : s.claims) {
    if (!c.live() || c.input.coverage != rule.coverage) continue;
    if (c.input.incident_date.year() != year) continue;
    if (rule.limit_scope == LimitScope::kAmountPerChildPlanYear && c.input.child_id != child_id) {
      continue;
    }
    use.used += c.payable;
  }
  use.left = std::max<Fen>(0, rule.limit_amount - use.used);
  return use;
}

std::string LimitText(const CoverageRule& rule, int year, const std::string& child_id,
                      const LimitUse& use) {
  const std::string who = rule.limit_scope == LimitScope::kAmountPerChildPlanYear
                              ? "per child " + child_id
                              : std::string("per member");
  return "limit " + FormatFen(rule.limit_amount) + " " + who + ", plan year " +
         std::to_string(year) + ": used " + FormatFen(use.used) + ", left " + FormatFen(use.left);
}

bool CondolenceGrantedInYear(const MemberState& s, int year) {
  for (const ClaimRecord& c : s.claims) {
    if (c.condolence > 0 && c.input.incident_date.year() == year) return true;
  }
  return false;
}

// Grants the condolence to a claim that has just become APPROVED, when the plan says so.
void GrantCondolence(const MemberState& s, ClaimRecord& claim, const Plan& plan,
                     std::vector<std::string>& trace) {
  const int year = claim.input.incident_date.year();
  claim.condolence = 0;
  if (!plan.GrantsCondolence(claim.input.coverage)) {
    trace.push_back(Join("condolence: none for ", Name(claim.input.coverage)));
    return;
  }
  if (claim.payable < plan.condolence_min_payable) {
    trace.push_back("condolence: none, payable " + FormatFen(claim.payable) + " < " +
                    FormatFen(plan.condolence_min_payable));
    return;
  }
  if (CondolenceGrantedInYear(s, year)) {
    trace.push_back("condolence: none, already granted for plan year " + std::to_string(year));
    return;
  }
  claim.condolence = plan.condolence_amount;
  trace.push_back("condolence " + FormatFen(plan.condolence_amount) + ": payable " +
                  FormatFen(claim.payable) + " >= " + FormatFen(plan.condolence_min_payable) +
                  ", first for plan year " + std::to_string(year));
}

class Applier {
 public:
  Applier(MemberState& state, const Plan& plan) : s_(state), plan_(plan) {}

  Output operator()(const EnrollInput& in);
  Output operator()(const TerminateInput& in);
  Output operator()(const ClaimInput& in);
  Output operator()(const ReviewInput& in);
  Output operator()(const AppealInput& in);

 private:
  Output Emit(std::variant<std::monostate, Decision, InputRejection> body) {
    Output out;
    out.body = std::move(body);
    out.sequence = ++s_.last_sequence;
    return out;
  }
  Output Reject(Rejection code, std::string detail, const ClaimId& claim = {}) {
    InputRejection r;
    r.member = s_.id;
    r.claim = claim;
    r.code = code;
    r.detail = std::move(detail);
    r.plan_id = plan_.id;
    r.plan_sha256 = plan_.sha256;
    return Emit(std::move(r));
  }
  Output Decide(const ClaimRecord& c, DecisionCause cause, Date on,
                std::vector<std::string> trace) {
    Decision d;
    d.claim = c.input.claim;
    d.member = s_.id;
    d.coverage = c.input.coverage;
    d.incident_date = c.input.incident_date;
    d.outcome = c.outcome;
    d.payable = c.payable;
    d.condolence = c.condolence;
    d.reasons = c.reasons;
    d.trace = std::move(trace);
    d.revision = c.revision;
    d.cause = cause;
    d.decided_on = on;
    d.plan_id = plan_.id;
    d.plan_sha256 = plan_.sha256;
    return Emit(std::move(d));
  }

  MemberState& s_;
  const Plan& plan_;
};

Output Applier::operator()(const EnrollInput& in) {
  if (in.start_date.year() != in.plan_year) {
    return Reject(Rejection::kStartOutsidePlanYear, "start date " + in.start_date.ToString() +
                                                        " is not in plan year " +
                                                        std::to_string(in.plan_year));
  }
  if (s_.EnrollmentFor(in.plan_year) != nullptr) {
    return Reject(Rejection::kDuplicateEnrollmentYear,
                  "the member already has an enrollment for " + std::to_string(in.plan_year));
  }
  if (s_.birth_date.has_value() && (s_.gender != in.gender || *s_.birth_date != in.birth_date)) {
    return Reject(Rejection::kIdentityMismatch,
                  "gender and birth date differ from the member's earlier enrollments");
  }
  EnrollmentRecord e;
  e.year = in.plan_year;
  e.start = in.start_date;
  e.end = Date::FromCivil(in.plan_year, 12, 31);
  e.occupation = in.occupation;
  e.continuous_start = in.start_date;
  const EnrollmentRecord* previous = s_.EnrollmentFor(in.plan_year - 1);
  const int deadline_day =
      std::min(plan_.renewal_deadline_day, DaysInMonth(in.plan_year, plan_.renewal_deadline_month));
  const Date deadline = Date::FromCivil(in.plan_year, plan_.renewal_deadline_month, deadline_day);
  if (previous != nullptr && !previous->terminated && in.start_date <= deadline) {
    e.renewal = true;
    e.continuous_start = previous->continuous_start;
  }
  s_.gender = in.gender;
  s_.birth_date = in.birth_date;
  auto pos = std::find_if(s_.enrollments.begin(), s_.enrollments.end(),
                          [&](const EnrollmentRecord& r) { return r.year > e.year; });
  s_.enrollments.insert(pos, e);
  return Output{};
}

Output Applier::operator()(const TerminateInput& in) {
  const int year = in.date.year();
  auto it = std::find_if(s_.enrollments.begin(), s_.enrollments.end(),
                         [&](const EnrollmentRecord& r) { return r.year == year; });
  if (it == s_.enrollments.end()) {
    return Reject(
        Rejection::kNoEnrollmentToTerminate,
        "no enrollment for " + std::to_string(year) + " to terminate on " + in.date.ToString());
  }
  it->end = std::min(it->end, in.date);
  it->terminated = true;
  return Output{};
}

Output Applier::operator()(const ClaimInput& in) {
  if (s_.FindClaim(in.claim) != nullptr) {
    return Reject(Rejection::kClaimIdInUse, "claim id " + in.claim + " is already in use",
                  in.claim);
  }
  const CoverageRule* rule = plan_.Rule(in.coverage);
  assert(rule != nullptr);  // ValidatePlan requires a rule for every coverage
  const int year = in.incident_date.year();
  const Date incident = in.incident_date;
  std::vector<std::string> trace;
  std::vector<Reason> reasons;

  // 1. NOT_ENROLLED
  const EnrollmentRecord* e = s_.EnrollmentFor(year);
  if (e == nullptr || !e->Covers(incident)) {
    reasons.push_back(Reason::kNotEnrolled);
    trace.push_back(e == nullptr
                        ? "NOT_ENROLLED: no enrollment for plan year " + std::to_string(year)
                        : "NOT_ENROLLED: incident " + incident.ToString() + " outside the " +
                              std::to_string(year) + " enrollment " +
                              (e->end < e->start ? std::string("(terminated before its start)")
                                                 : e->start.ToString() + ".." + e->end.ToString()));
    e = nullptr;
  } else {
    trace.push_back("enrollment " + std::to_string(year) + " covers " + e->start.ToString() + ".." +
                    e->end.ToString() + ", " + (e->renewal ? "renewal" : "new") +
                    ", continuous start " + e->continuous_start.ToString());
  }
  // 2. MEMBER_DECEASED
  for (const ClaimRecord& c : s_.claims) {
    if (c.live() && c.input.coverage == Coverage::kDeathFromIllness &&
        c.input.incident_date < incident) {
      reasons.push_back(Reason::kMemberDeceased);
      trace.push_back("MEMBER_DECEASED: live death claim " + c.input.claim + " with incident " +
                      c.input.incident_date.ToString());
      break;
    }
  }
  // 3. LATE_FILING
  const Date filing_deadline = incident.AddDays(plan_.late_filing_days);
  if (in.date > filing_deadline) {
    reasons.push_back(Reason::kLateFiling);
    trace.push_back("LATE_FILING: filed " + in.date.ToString() + " after " +
                    filing_deadline.ToString() + " (incident + " +
                    std::to_string(plan_.late_filing_days) + " days)");
  }
  // 4. WAITING_PERIOD (skipped when not enrolled)
  if (e != nullptr && rule->waiting_period_days > 0) {
    const Date waiting_end = e->continuous_start.AddDays(rule->waiting_period_days);
    if (incident < waiting_end) {
      reasons.push_back(Reason::kWaitingPeriod);
      trace.push_back("WAITING_PERIOD: incident " + incident.ToString() + " before " +
                      waiting_end.ToString() + " (continuous start + " +
                      std::to_string(rule->waiting_period_days) + " days)");
    }
  }
  // 5. NOT_ELIGIBLE
  if (rule->eligible_gender != Gender::kUnspecified && s_.gender != rule->eligible_gender) {
    reasons.push_back(Reason::kNotEligible);
    trace.push_back(
        Join(Join("NOT_ELIGIBLE: only for ", Name(rule->eligible_gender)) + " members; member is ",
             s_.gender == Gender::kUnspecified ? "not enrolled" : Name(s_.gender)));
  } else if (rule->child_max_age_years > 0) {
    if (!in.child_birth_date.has_value()) {
      reasons.push_back(Reason::kNotEligible);
      trace.push_back("NOT_ELIGIBLE: no child birth date");
    } else {
      const int age = AgeInYears(*in.child_birth_date, incident);
      if (age >= rule->child_max_age_years) {
        reasons.push_back(Reason::kNotEligible);
        trace.push_back("NOT_ELIGIBLE: child " + in.child_id + " is " + std::to_string(age) +
                        " at the incident (must be under " +
                        std::to_string(rule->child_max_age_years) + ")");
      }
    }
  }
  // 6. CONDITION_NOT_COVERED
  if (!rule->conditions.empty() && !Contains(rule->conditions, in.condition_code)) {
    reasons.push_back(Reason::kConditionNotCovered);
    trace.push_back(Join("CONDITION_NOT_COVERED: '" + in.condition_code + "' is not listed for ",
                         Name(in.coverage)));
  }
  // 7. CAUSE_NOT_COVERED
  if (!rule->covered_causes.empty() && !Contains(rule->covered_causes, in.cause)) {
    reasons.push_back(Reason::kCauseNotCovered);
    trace.push_back("CAUSE_NOT_COVERED: cause '" + in.cause + "' is not covered");
  }
  // 8. DUPLICATE_CLAIM
  for (const ClaimRecord& c : s_.claims) {
    const ClaimInput& o = c.input;
    if (c.live() && o.coverage == in.coverage && o.incident_date == incident &&
        o.condition_code == in.condition_code && o.cause == in.cause && o.child_id == in.child_id &&
        o.amount == in.amount) {
      reasons.push_back(Reason::kDuplicateClaim);
      trace.push_back("DUPLICATE_CLAIM: same as live claim " + o.claim);
      break;
    }
  }
  // 9. BENEFIT_EXHAUSTED and 10. BELOW_DEDUCTIBLE, from the benefit itself.
  Fen payable = 0;
  bool limit_applied = false;
  std::string limit_line;
  if (rule->is_fixed()) {
    if (const ClaimRecord* holder = LiveFixedBenefit(s_, *rule, year)) {
      reasons.push_back(Reason::kBenefitExhausted);
      trace.push_back(Join("BENEFIT_EXHAUSTED: benefit paid ", ScopeText(rule->limit_scope)) +
                      " is held by live claim " + holder->input.claim);
    }
    payable = *rule->fixed;
    if (payable <= 0) {
      reasons.push_back(Reason::kBelowDeductible);
      trace.push_back("BELOW_DEDUCTIBLE: fixed benefit " + FormatFen(payable));
    }
  } else {
    const LimitUse use = AmountLimitUse(s_, *rule, year, in.child_id);
    limit_line = LimitText(*rule, year, in.child_id, use);
    if (use.left <= 0) {
      reasons.push_back(Reason::kBenefitExhausted);
      trace.push_back("BENEFIT_EXHAUSTED: " + limit_line);
    }
    const Fen formula = FormulaValue(*rule->formula, in.amount);
    const std::string formula_line = FormulaText(*rule->formula, in.amount, formula);
    if (formula <= 0) {
      reasons.push_back(Reason::kBelowDeductible);
      trace.push_back("BELOW_DEDUCTIBLE: " + formula_line);
    } else {
      trace.push_back(formula_line);
    }
    payable = std::min(formula, use.left);
    limit_applied = formula > use.left;
  }

  ClaimRecord record;
  record.input = in;
  record.revision = 1;
  if (!reasons.empty()) {
    record.outcome = Outcome::kDenied;
    record.payable = 0;
    record.reasons = std::move(reasons);
    record.denied_on = in.date;
    trace.push_back("DENIED, payable 0");
    s_.claims.push_back(std::move(record));
    return Decide(s_.claims.back(), DecisionCause::kClaim, in.date, std::move(trace));
  }

  if (rule->is_fixed()) {
    trace.push_back("fixed benefit " + FormatFen(payable) + ", " + ScopeText(rule->limit_scope));
  } else {
    trace.push_back(limit_line);
  }
  trace.push_back("payable " + FormatFen(payable) + (limit_applied ? " (LIMIT_APPLIED)" : ""));

  // Referral checks.
  std::vector<std::string> missing;
  for (const std::string& doc : rule->required_documents) {
    if (!Contains(in.documents, doc)) missing.push_back(doc);
  }
  if (!missing.empty()) {
    reasons.push_back(Reason::kMissingDocuments);
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    trace.push_back("MISSING_DOCUMENTS: " + list);
  }
  if (payable >= plan_.high_value) {
    reasons.push_back(Reason::kHighValue);
    trace.push_back("HIGH_VALUE: payable " + FormatFen(payable) +
                    " >= " + FormatFen(plan_.high_value));
  }
  if (rule->early_claim_days > 0) {
    const Date early_end = e->continuous_start.AddDays(rule->early_claim_days);
    if (incident < early_end) {
      reasons.push_back(Reason::kEarlyClaim);
      trace.push_back("EARLY_CLAIM: incident " + incident.ToString() + " before " +
                      early_end.ToString() + " (continuous start + " +
                      std::to_string(rule->early_claim_days) + " days)");
    }
  }
  int live_in_year = 0;
  for (const ClaimRecord& c : s_.claims) {
    if (c.live() && c.input.incident_date.year() == year) ++live_in_year;
  }
  if (live_in_year >= plan_.frequent_claims_threshold) {
    reasons.push_back(Reason::kFrequentClaims);
    trace.push_back("FREQUENT_CLAIMS: " + std::to_string(live_in_year) +
                    " live claims already in plan year " + std::to_string(year));
  }

  record.payable = payable;
  record.limit_applied = limit_applied;
  record.outcome = reasons.empty() ? Outcome::kApproved : Outcome::kReferred;
  if (limit_applied) reasons.push_back(Reason::kLimitApplied);
  record.reasons = std::move(reasons);
  if (record.outcome == Outcome::kApproved) {
    GrantCondolence(s_, record, plan_, trace);
    trace.push_back("APPROVED, payable " + FormatFen(payable));
  } else {
    trace.push_back("REFERRED to review, " + FormatFen(payable) + " reserved");
  }
  s_.claims.push_back(std::move(record));
  return Decide(s_.claims.back(), DecisionCause::kClaim, in.date, std::move(trace));
}

Output Applier::operator()(const ReviewInput& in) {
  ClaimRecord* c = s_.FindClaim(in.claim);
  if (c == nullptr) {
    return Reject(Rejection::kUnknownClaim, "no claim " + in.claim + " for this member", in.claim);
  }
  if (c->outcome != Outcome::kReferred) {
    return Reject(Rejection::kReviewOfClaimNotReferred,
                  Join("claim " + in.claim + " is ", Name(c->outcome)) + ", not REFERRED",
                  in.claim);
  }
  std::vector<std::string> trace;
  c->revision += 1;
  if (in.action == ReviewAction::kApprove) {
    c->outcome = Outcome::kApproved;
    c->reasons.clear();
    if (c->limit_applied) c->reasons.push_back(Reason::kLimitApplied);
    trace.push_back("review " + in.date.ToString() + " approved the reserved " +
                    FormatFen(c->payable) + (c->limit_applied ? " (LIMIT_APPLIED)" : ""));
    GrantCondolence(s_, *c, plan_, trace);  // a REFERRED claim holds no condolence yet
    trace.push_back("APPROVED, payable " + FormatFen(c->payable));
  } else {
    trace.push_back("review " + in.date.ToString() + " denied it; " + FormatFen(c->payable) +
                    " released");
    c->outcome = Outcome::kDenied;
    c->payable = 0;
    c->condolence = 0;
    c->limit_applied = false;
    c->reasons = {Reason::kReviewDenied};
    c->denied_on = in.date;
    trace.push_back("DENIED, payable 0");
  }
  return Decide(*c, DecisionCause::kReview, in.date, std::move(trace));
}

Output Applier::operator()(const AppealInput& in) {
  ClaimRecord* c = s_.FindClaim(in.claim);
  if (c == nullptr) {
    return Reject(Rejection::kUnknownClaim, "no claim " + in.claim + " for this member", in.claim);
  }
  if (c->outcome != Outcome::kDenied) {
    return Reject(Rejection::kAppealOfClaimNotDenied,
                  Join("claim " + in.claim + " is ", Name(c->outcome)) + ", not DENIED", in.claim);
  }
  if (c->appealed) {
    return Reject(Rejection::kAppealRepeated,
                  "claim " + in.claim + " was already sent back by an appeal", in.claim);
  }
  const Date window_end = c->denied_on.AddDays(plan_.appeal_window_days);
  if (in.date > window_end) {
    return Reject(Rejection::kAppealLate,
                  "appeal dated " + in.date.ToString() + " is after " + window_end.ToString() +
                      " (denied " + c->denied_on.ToString() + " + " +
                      std::to_string(plan_.appeal_window_days) + " days)",
                  in.claim);
  }
  const CoverageRule* rule = plan_.Rule(c->input.coverage);
  assert(rule != nullptr);
  const int year = c->input.incident_date.year();
  std::vector<std::string> trace;
  trace.push_back("appeal " + in.date.ToString() + " within " + window_end.ToString() +
                  "; no other check runs");
  Fen payable = 0;
  bool limit_applied = false;
  if (rule->is_fixed()) {
    if (const ClaimRecord* holder = LiveFixedBenefit(s_, *rule, year)) {
      trace.push_back("fixed benefit already held by live claim " + holder->input.claim +
                      ": payable 0");
    } else {
      payable = *rule->fixed;
      trace.push_back("fixed benefit " + FormatFen(payable));
    }
  } else {
    const Fen formula = FormulaValue(*rule->formula, c->input.amount);
    const Fen base = std::max<Fen>(0, formula);
    const LimitUse use = AmountLimitUse(s_, *rule, year, c->input.child_id);
    trace.push_back(FormulaText(*rule->formula, c->input.amount, formula));
    trace.push_back(LimitText(*rule, year, c->input.child_id, use));
    payable = std::min(base, use.left);
    limit_applied = base > use.left;
  }
  c->appealed = true;
  c->outcome = Outcome::kReferred;
  c->payable = payable;
  c->condolence = 0;
  c->limit_applied = limit_applied;
  c->reasons = {Reason::kAppealed};
  c->revision += 1;
  trace.push_back("REFERRED to review, " + FormatFen(payable) + " reserved" +
                  (limit_applied ? " (limit cut it)" : ""));
  return Decide(*c, DecisionCause::kAppeal, in.date, std::move(trace));
}

}  // namespace

Output Apply(MemberState& state, const Input& input, const Plan& plan) {
  assert(MemberOf(input).empty() || MemberOf(input) == state.id);
  Applier applier(state, plan);
  return std::visit(applier, input);
}

Output RejectInput(MemberState& state, Rejection code, const ClaimId& claim, std::string detail,
                   const Plan& plan) {
  InputRejection r;
  r.member = state.id;
  r.claim = claim;
  r.code = code;
  r.detail = std::move(detail);
  r.plan_id = plan.id;
  r.plan_sha256 = plan.sha256;
  Output out;
  out.body = std::move(r);
  out.sequence = ++state.last_sequence;
  return out;
}

}  // namespace claims::domain
