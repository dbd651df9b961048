#pragma once

#include <atomic>
#include <cstdint>

#include "libs/base/status.h"
#include "libs/runtime/business_clock.h"
#include "libs/store/state_store.h"
#include "mutualaid/adjudication/v1/report.pb.h"
#include "services/adjudication/report_appeals.h"
#include "services/adjudication/report_partitions.h"

namespace claims::adjudication {

namespace report_api = ::mutualaid::adjudication::v1;

// Where the report reads: the fold's member states and offsets (the store), the partitions the
// processor holds, the appeals read model, the partition count of intake.events.v1 (0 while
// unknown), and the business date (the default as-of date).
struct ReportSources {
  const store::StateStore& store;
  const HeldPartitions& held;
  const AppealsModel& appeals;
  const std::atomic<int32_t>& input_partitions;
  const runtime::BusinessClock& clock;
};

// The report API's logic (report.proto), over this replica's state; no gRPC here (ReportService
// adapts it and checks the caller's role). Reads only: member states exactly as the fold stores
// them, the members of held partitions only (see report_partitions.h). Thread-safe.
//
// The figures follow tools/claimsctl/README.md ("Report"), computed per member state instead of
// per replayed event:
//  - members, claims, approved money and condolences: from the states as they are;
//  - a referral's date: the claim's submission date, or for a claim sent back by an appeal (the
//    only other way to REFERRED) the appeal's date from the appeals model;
//  - appeals: the accepted appeal of each appealed claim (its date from the appeals model;
//    closed once the claim is no longer REFERRED, as only a review moves it on), and the appeals
//    rejected on arrival of the replica's members.
// Each read takes the held partitions and their store offsets before and after the scan and
// retries (up to 5 reads) while they move, so that figures and positions agree.
class ReportHandler {
 public:
  explicit ReportHandler(ReportSources sources) : sources_(sources) {}

  // INVALID_ARGUMENT naming plan_year or as_of; UNAVAILABLE while the partition count is not
  // known, while the held partitions change on every read, or when an appealed claim's appeal is
  // not yet in the appeals model; DATA_LOSS for a stored state that does not parse.
  Result<report_api::GetPlanYearFiguresResponse> Figures(
      const report_api::GetPlanYearFiguresRequest& request) const;

  // INVALID_ARGUMENT naming plan_year or claims[i].<field> (at most kMaxPaidClaims claims);
  // UNAVAILABLE as Figures, and when a claim of a held member is not in its state yet.
  Result<report_api::SumPaidClaimsResponse> SumPaid(
      const report_api::SumPaidClaimsRequest& request) const;

  static constexpr int kMaxPaidClaims = 10000;

 private:
  ReportSources sources_;
};

}  // namespace claims::adjudication
