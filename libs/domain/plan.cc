#include "libs/domain/plan.h"

#include <algorithm>
#include <set>
#include <string>

namespace claims::domain {
namespace {

class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
  }
  void Positive(const std::string& field, int64_t value) {
    if (value <= 0) Add(field, "must be > 0, is " + std::to_string(value));
  }
  void NonNegative(const std::string& field, int64_t value) {
    if (value < 0) Add(field, "must be >= 0, is " + std::to_string(value));
  }
  void UniqueNonEmpty(const std::string& field, const std::vector<std::string>& values) {
    std::set<std::string> seen;
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string path = field + "[" + std::to_string(i) + "]";
      if (values[i].empty()) Add(path, "must not be empty");
      if (!seen.insert(values[i]).second) Add(path, "duplicate '" + values[i] + "'");
    }
  }
  std::vector<FieldViolation> Take() { return std::move(list_); }
  bool empty() const { return list_.empty(); }

 private:
  std::vector<FieldViolation> list_;
};

// Plan files cap amounts far below overflow: no formula on any claim amount can overflow.
constexpr int64_t kMaxAmountFen = 1'000'000'000'000;  // 10 billion yuan
constexpr int64_t kMaxRatioTerm = 1'000'000;

void ValidateRule(const CoverageRule& r, const std::string& at, Violations& v) {
  const bool fixed = r.fixed.has_value();
  if (fixed == r.formula.has_value()) {
    v.Add(at + ".benefit",
          fixed ? "has both fixed_fen and formula" : "missing benefit: set fixed_fen or formula");
  }
  if (fixed) {
    v.Positive(at + ".fixed_fen", *r.fixed);
    if (*r.fixed > kMaxAmountFen) v.Add(at + ".fixed_fen", "is implausibly large");
    if (r.limit_scope != LimitScope::kOncePerPlanYear && r.limit_scope != LimitScope::kOnceEver) {
      v.Add(at + ".limit.scope", "a fixed benefit needs ONCE_PER_PLAN_YEAR or ONCE_EVER");
    }
  }
  if (r.formula.has_value()) {
    const Formula& f = *r.formula;
    v.NonNegative(at + ".formula.deductible_fen", f.deductible);
    if (f.deductible > kMaxAmountFen) v.Add(at + ".formula.deductible_fen", "is implausibly large");
    v.Positive(at + ".formula.ratio_numerator", f.numerator);
    v.Positive(at + ".formula.ratio_denominator", f.denominator);
    if (f.numerator > kMaxRatioTerm) v.Add(at + ".formula.ratio_numerator", "is too large");
    if (f.denominator > kMaxRatioTerm) v.Add(at + ".formula.ratio_denominator", "is too large");
    if (r.limit_scope != LimitScope::kAmountPerMemberPlanYear &&
        r.limit_scope != LimitScope::kAmountPerChildPlanYear) {
      v.Add(at + ".limit.scope",
            "a formula benefit needs AMOUNT_PER_MEMBER_PLAN_YEAR or AMOUNT_PER_CHILD_PLAN_YEAR");
    } else {
      v.Positive(at + ".limit.amount_fen", r.limit_amount);
      if (r.limit_amount > kMaxAmountFen) v.Add(at + ".limit.amount_fen", "is implausibly large");
    }
  }
  if (r.limit_scope == LimitScope::kAmountPerChildPlanYear && r.child_max_age_years <= 0) {
    v.Add(at + ".limit.scope", "AMOUNT_PER_CHILD_PLAN_YEAR needs child_max_age_years > 0");
  }
  v.NonNegative(at + ".waiting_period_days", r.waiting_period_days);
  v.NonNegative(at + ".early_claim_days", r.early_claim_days);
  v.NonNegative(at + ".child_max_age_years", r.child_max_age_years);
  v.UniqueNonEmpty(at + ".required_documents", r.required_documents);
  v.UniqueNonEmpty(at + ".conditions", r.conditions);
  v.UniqueNonEmpty(at + ".covered_causes", r.covered_causes);
}

}  // namespace

bool Plan::GrantsCondolence(Coverage c) const {
  return std::find(condolence_coverages.begin(), condolence_coverages.end(), c) !=
         condolence_coverages.end();
}

Status ValidatePlan(const Plan& plan) {
  Violations v;
  if (plan.id.empty()) v.Add("plan_id", "must not be empty");
  if (plan.currency != "CNY") v.Add("currency", "must be CNY, is '" + plan.currency + "'");
  if (plan.renewal_deadline_month < 1 || plan.renewal_deadline_month > 12) {
    v.Add("enrollment.renewal_deadline_month", "must be 1-12");
  } else if (plan.renewal_deadline_day < 1 ||
             plan.renewal_deadline_day > DaysInMonth(2001, plan.renewal_deadline_month)) {
    v.Add("enrollment.renewal_deadline_day", "must be a day of that month in every year");
  }
  v.NonNegative("filing.late_filing_days", plan.late_filing_days);
  v.NonNegative("filing.appeal_window_days", plan.appeal_window_days);
  v.Positive("referral.high_value_fen", plan.high_value);
  v.Positive("referral.frequent_claims_threshold", plan.frequent_claims_threshold);
  v.NonNegative("condolence.amount_fen", plan.condolence_amount);
  v.NonNegative("condolence.min_payable_fen", plan.condolence_min_payable);
  std::set<Coverage> condolence_seen;
  for (size_t i = 0; i < plan.condolence_coverages.size(); ++i) {
    const Coverage c = plan.condolence_coverages[i];
    const std::string at = "condolence.coverages[" + std::to_string(i) + "]";
    if (c == Coverage::kUnspecified) v.Add(at, "must name a coverage");
    if (!condolence_seen.insert(c).second) v.Add(at, "duplicate coverage");
  }
  for (size_t i = 1; i < plan.rules.size(); ++i) {
    const auto c = static_cast<Coverage>(i);
    if (!plan.rules[i].has_value()) {
      v.Add("coverages", std::string("missing the rule for ") + std::string(Name(c)));
      continue;
    }
    if (plan.rules[i]->coverage != c) v.Add("coverages", "rule stored under the wrong coverage");
  }
  for (size_t i = 1; i < plan.rules.size(); ++i) {
    if (plan.rules[i].has_value()) {
      ValidateRule(*plan.rules[i], "coverages[" + std::string(Name(static_cast<Coverage>(i))) + "]",
                   v);
    }
  }
  if (plan.rules[0].has_value()) v.Add("coverages", "a rule for COVERAGE_UNSPECIFIED");
  if (v.empty()) return Status::Ok();
  return InvalidArgument("invalid plan " + plan.id, v.Take());
}

}  // namespace claims::domain
