#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libs/base/money.h"
#include "libs/base/status.h"
#include "libs/domain/plan.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"

// The what-if: the recorded inputs re-folded under a candidate plan, compared claim by claim
// with the re-fold under the plans they name. Reads only; publishes nothing.
namespace claims::audit {

// How one claim's current decision would change.
struct ChangedClaim {
  std::string claim_id;
  std::string before;  // "APPROVED 1,000 fen + condolence 0"
  std::string after;
};

struct CoverageImpact {
  std::string coverage;
  uint64_t claims = 0;      // claims of the coverage in the log
  uint64_t changed = 0;     // whose outcome, payable or condolence would differ
  Fen approved_before = 0;  // payable + condolence of the approved claims
  Fen approved_after = 0;
  std::vector<ChangedClaim> examples;  // the first few, in claim-id order
};

// One entry per coverage (six, in plan order). `max_examples` per coverage.
Result<std::vector<CoverageImpact>> Simulate(ExportReader& reader, const PlanSet& plans,
                                             const domain::Plan& candidate, size_t max_examples);

}  // namespace claims::audit
