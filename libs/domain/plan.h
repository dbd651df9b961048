#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/money.h"
#include "libs/base/status.h"
#include "libs/domain/types.h"

namespace claims::domain {

// payable = floor((amount - deductible) * numerator / denominator).
struct Formula {
  Fen deductible = 0;
  int64_t numerator = 1;
  int64_t denominator = 1;
};

enum class LimitScope {
  kUnspecified,
  kOncePerPlanYear,          // fixed benefit, once per plan year of the incident
  kOnceEver,                 // fixed benefit, once per member ever
  kAmountPerMemberPlanYear,  // formula, an amount per member per plan year
  kAmountPerChildPlanYear,   // formula, an amount per child id per plan year
};

// The rule of one coverage. Exactly one of `fixed` and `formula` is set in a valid plan.
struct CoverageRule {
  Coverage coverage = Coverage::kUnspecified;
  std::string name;
  std::optional<Fen> fixed;
  std::optional<Formula> formula;
  LimitScope limit_scope = LimitScope::kUnspecified;
  Fen limit_amount = 0;  // for the kAmount* scopes
  std::vector<std::string> required_documents;
  int waiting_period_days = 0;
  int early_claim_days = 0;
  Gender eligible_gender = Gender::kUnspecified;  // kUnspecified: any
  int child_max_age_years = 0;                    // > 0: a child coverage
  std::vector<std::string> conditions;            // empty: no condition check
  std::vector<std::string> covered_causes;        // empty: no cause check

  bool is_fixed() const { return fixed.has_value(); }
};

// One immutable plan version. `sha256` is the hex SHA-256 of the plan file's bytes, set by
// whoever loaded it; decisions record it.
struct Plan {
  std::string id;
  std::string name;
  std::string currency;
  std::string sha256;
  int renewal_deadline_month = 1;
  int renewal_deadline_day = 31;
  int late_filing_days = 365;
  int appeal_window_days = 60;
  Fen high_value = 0;
  int frequent_claims_threshold = 0;
  Fen condolence_amount = 0;
  Fen condolence_min_payable = 0;
  std::vector<Coverage> condolence_coverages;
  // Indexed by static_cast<size_t>(Coverage).
  std::array<std::optional<CoverageRule>, 7> rules;

  // The rule of a coverage; nullptr when the plan has none (never for a validated plan and a
  // specified coverage).
  const CoverageRule* Rule(Coverage c) const {
    const auto& r = rules[static_cast<size_t>(c)];
    return r ? &*r : nullptr;
  }
  bool GrantsCondolence(Coverage c) const;
};

// Checks every invariant the engine relies on; on failure an INVALID_ARGUMENT status whose
// violations name each bad field by its path in the plan file ("coverages[2].limit.amount_fen").
Status ValidatePlan(const Plan& plan);

}  // namespace claims::domain
