#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"

// The plan-year report, from a replay of an export: members, claims, money, appeals, referrals.
namespace claims::audit {

// One figure: a section ("members", "claims", ...), a key within it and an integer value
// (counts, fen, days, per-mille). Rows come in a fixed order, so two reports compare as values.
struct ReportRow {
  std::string section;
  std::string key;
  int64_t value = 0;
  std::string text;  // when set, the figure is this text (a date), not `value`
  friend bool operator==(const ReportRow&, const ReportRow&) = default;
};

struct ReportOptions {
  int plan_year = 0;
  // The date ages are measured at; default: the latest business date in the log (no clock).
  std::optional<Date> as_of;
};

// Definitions (also in tools/claimsctl/README.md), for plan year Y:
//  members/enrolled, new, renewal: accepted enrollments for Y; renewal as the engine decided it.
//  members/<OCCUPATION>: by occupation group of the Y enrollment (the four key groups; OTHER).
//  claims/<COVERAGE>/<OUTCOME>: claims with an incident in Y, by their current outcome.
//  money/approved_fen, condolence_count, condolence_fen: of the approved claims of Y.
//  money/paid_benefit_fen, paid_condolence_fen: settled payments of the claims of Y.
//  appeals/received: ClaimAppealed events dated in Y; closed: those rejected on arrival or
//  decided by a review since; closing_rate_permille: closed * 1000 / received.
//  referrals/open: claims of Y still REFERRED; oldest_age_days: as_of - the referral's date;
//  referrals/as_of: that date (text).
Result<std::vector<ReportRow>> BuildReport(ExportReader& reader, const PlanSet& plans,
                                           const ReportOptions& options);

}  // namespace claims::audit
