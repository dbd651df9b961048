#pragma once

// What the engine's two test files share: the example plan, PLAN.md's document table written
// down independently of the plan file, and reason lists for failure messages.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/plan.h"

#ifndef CLAIMS_PLAN_FILE
#error "CLAIMS_PLAN_FILE must name config/plans/six-guarantees-v1.textproto"
#endif

namespace claims::domain::testing {

inline const Plan& ThePlan() {
  static const Plan* const plan = [] {
    auto loaded = codec::LoadPlanFile(CLAIMS_PLAN_FILE);
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", CLAIMS_PLAN_FILE,
                   loaded.status().ToString().c_str());
      std::abort();
    }
    return new Plan(std::move(loaded).value());
  }();
  return *plan;
}

// The required documents of PLAN.md's coverage table.
inline std::vector<std::string> RequiredDocs(Coverage c) {
  switch (c) {
    case Coverage::kCriticalIllness:
    case Coverage::kFemaleSpecificDisease:
      return {"DIAGNOSIS_REPORT"};
    case Coverage::kAccidentalInjury:
      return {"MEDICAL_RECEIPTS"};
    case Coverage::kChildAccident:
      return {"MEDICAL_RECEIPTS", "BIRTH_CERTIFICATE"};
    case Coverage::kDeathFromIllness:
      return {"DEATH_CERTIFICATE"};
    case Coverage::kHouseholdPropertyLoss:
      return {"LOSS_REPORT"};
    case Coverage::kUnspecified:
      break;
  }
  return {};
}

// "[NOT_ENROLLED, LATE_FILING]".
inline std::string Names(const std::vector<Reason>& reasons) {
  std::string s = "[";
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i > 0) s += ", ";
    s += Name(reasons[i]);
  }
  return s + "]";
}

}  // namespace claims::domain::testing
