#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/money.h"
#include "libs/base/status.h"
#include "mutualaid/adjudication/v1/report.pb.h"
#include "tools/claimsctl/audit/report.h"
#include "tools/claimsctl/client.h"

// The `report` command's output, shared by its two sources, and its live source: the figures the
// running services give (adjudication's ReportService on every replica, payout's settled
// payments), combined into the same rows as a replay (audit::BuildReport).
namespace claims::ctl {

namespace report_api = ::mutualaid::adjudication::v1;

// Prints the rows of plan year `year`: columns plan_year, section, figure, value (`output`:
// table, csv or json).
void PrintReport(int year, const std::vector<audit::ReportRow>& rows, const std::string& output,
                 std::ostream& out);

struct LiveReportOptions {
  std::vector<Connection> adjudication;  // every replica, each with its own target
  Connection payout;
  int year = 0;
  std::optional<Date> as_of;  // default: the latest business date the replicas answer with
};

// report --live: asks every adjudication replica for its figures, checks that their partitions
// of intake.events.v1 cover every partition exactly once (else exit 3 naming the partitions no
// replica holds and those held more than once), lists payout's SETTLED payments and has the
// replicas sum those of the year's claims, then prints the rows like a replay. The positions the
// figures stand at (per replica: intake.events.v1 partitions and next offsets, and how far its
// appeals model read adjudication.decisions.v1) go to stderr. Returns the exit code.
int RunLiveReport(const LiveReportOptions& options, const std::string& output);

// The partitions the replicas (named by target) hold, each with the partition count it reported:
// OK when they agree on the count and cover 0..count-1 exactly once. UNAVAILABLE otherwise,
// naming the missing partitions and the doubly held ones with their replicas.
struct ReplicaPartitions {
  std::string target;
  int32_t partition_count = 0;
  std::vector<int32_t> partitions;
};
Status CheckCoverage(const std::vector<ReplicaPartitions>& replicas);

// The rows of audit::BuildReport, in its order, from the replicas' figures (covering every
// partition once) and the settled money of the year's claims. `as_of`: the date ages are
// measured at; default: the latest of the replicas' as_of.
std::vector<audit::ReportRow> CombineFigures(
    const std::vector<report_api::GetPlanYearFiguresResponse>& replicas, Fen paid_benefit,
    Fen paid_condolence, std::optional<Date> as_of);

}  // namespace claims::ctl
