#include "tools/claimsctl/report_command.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "libs/domain/codec/enums.h"
#include "libs/domain/types.h"
#include "libs/events/topics.h"
#include "mutualaid/adjudication/v1/report.grpc.pb.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "tools/claimsctl/payments.h"
#include "tools/claimsctl/table.h"

namespace claims::ctl {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace payout_api = ::mutualaid::payout::v1;

using events::kDecisionsTopic;
using events::kIntakeTopic;
// Settled claims sent to the replicas per SumPaidClaims call (the service takes up to 10,000).
constexpr size_t kPaidClaimsPerCall = 5000;
constexpr int kPageSize = 500;

std::string JoinPartitions(const std::vector<int32_t>& partitions) {
  std::string out;
  for (int32_t p : partitions) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return out;
}

// "0@15 1@3 ...": each partition at its next offset ("0@15-17" when it moved during the read).
std::string Positions(
    const google::protobuf::RepeatedPtrField<report_api::PartitionPosition>& positions) {
  std::string out;
  for (const report_api::PartitionPosition& p : positions) {
    out += (out.empty() ? "" : " ") + std::to_string(p.partition()) + "@" +
           std::to_string(p.next_offset());
    if (p.next_offset_at_end() != p.next_offset()) {
      out += "-" + std::to_string(p.next_offset_at_end());
    }
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

void PrintReport(int year, const std::vector<audit::ReportRow>& rows, const std::string& output,
                 std::ostream& out) {
  Table table;
  table.columns = {"plan_year", "section", "figure", "value"};
  table.numeric = {true, false, false, false};
  for (const audit::ReportRow& r : rows) {
    table.rows.push_back({std::to_string(year), r.section, r.key,
                          r.text.empty() ? std::to_string(r.value) : r.text});
  }
  table.Print(output, out);
}

Status CheckCoverage(const std::vector<ReplicaPartitions>& replicas) {
  if (replicas.empty()) return InvalidArgument("no replica to ask");
  const int32_t count = replicas.front().partition_count;
  for (const ReplicaPartitions& r : replicas) {
    if (r.partition_count != count) {
      return Unavailable(std::string("the replicas disagree on the partition count of ") +
                         kIntakeTopic + ": " + replicas.front().target + " says " +
                         std::to_string(count) + ", " + r.target + " says " +
                         std::to_string(r.partition_count));
    }
  }
  std::map<int32_t, std::vector<std::string>> holders;
  for (const ReplicaPartitions& r : replicas) {
    for (int32_t p : r.partitions) holders[p].push_back(r.target);
  }
  std::vector<int32_t> missing;
  std::string twice;
  for (int32_t p = 0; p < count; ++p) {
    auto it = holders.find(p);
    if (it == holders.end()) {
      missing.push_back(p);
    } else if (it->second.size() > 1) {
      std::string by;
      for (const std::string& t : it->second) by += (by.empty() ? "" : " and ") + t;
      twice += (twice.empty() ? "" : "; ") + std::to_string(p) + " by " + by;
    }
  }
  if (missing.empty() && twice.empty()) return Status::Ok();
  std::string message = std::string("the replicas do not cover the ") + std::to_string(count) +
                        " partitions of " + kIntakeTopic + " exactly once:";
  if (!missing.empty()) message += " no replica holds partitions " + JoinPartitions(missing);
  if (!twice.empty()) message += std::string(missing.empty() ? "" : ";") + " held twice: " + twice;
  return Unavailable(message + " (a rebalance under way? retry, or name every replica)");
}

std::vector<audit::ReportRow> CombineFigures(
    const std::vector<report_api::GetPlanYearFiguresResponse>& replicas, Fen paid_benefit,
    Fen paid_condolence, std::optional<Date> as_of) {
  int64_t enrolled = 0, renewal = 0, condolences = 0, appeals_received = 0, appeals_closed = 0,
          referrals_open = 0;
  Fen approved = 0, condolence = 0;
  std::map<int, int64_t> occupations;             // proto Occupation -> members
  std::map<std::pair<int, int>, int64_t> claims;  // proto (Coverage, Outcome) -> claims
  std::optional<Date> oldest, latest_as_of;
  for (const report_api::GetPlanYearFiguresResponse& r : replicas) {
    enrolled += r.members_enrolled();
    renewal += r.members_renewal();
    for (const report_api::OccupationCount& o : r.members_by_occupation()) {
      const int occupation =
          o.occupation() == ev::OCCUPATION_UNSPECIFIED ? ev::OTHER : o.occupation();
      occupations[occupation] += o.members();
    }
    for (const report_api::ClaimCount& c : r.claims())
      claims[{c.coverage(), c.outcome()}] += c.claims();
    approved += r.approved_fen();
    condolences += r.condolence_count();
    condolence += r.condolence_fen();
    appeals_received += r.appeals_received();
    appeals_closed += r.appeals_closed();
    referrals_open += r.referrals_open();
    if (std::optional<Date> d = Date::Parse(r.oldest_referred_on())) {
      if (!oldest || *d < *oldest) oldest = d;
    }
    if (std::optional<Date> d = Date::Parse(r.as_of())) {
      if (!latest_as_of || *d > *latest_as_of) latest_as_of = d;
    }
  }
  const Date at = as_of ? *as_of : latest_as_of.value_or(Date());

  // The rows of audit::BuildReport, in its order.
  std::vector<audit::ReportRow> rows;
  auto add = [&](const std::string& section, const std::string& key, int64_t value) {
    rows.push_back({section, key, value, ""});
  };
  add("members", "enrolled", enrolled);
  add("members", "new", enrolled - renewal);
  add("members", "renewal", renewal);
  for (domain::Occupation o : {domain::Occupation::kCourier, domain::Occupation::kFoodDelivery,
                               domain::Occupation::kTruckDriver, domain::Occupation::kRideHailing,
                               domain::Occupation::kOther}) {
    add("members", std::string(domain::Name(o)), occupations[codec::OccupationToProto(o)]);
  }
  for (int cv = 1; cv <= 6; ++cv) {
    const auto coverage = static_cast<domain::Coverage>(cv);
    for (domain::Outcome outcome :
         {domain::Outcome::kApproved, domain::Outcome::kDenied, domain::Outcome::kReferred}) {
      add("claims", std::string(domain::Name(coverage)) + "/" + std::string(domain::Name(outcome)),
          claims[{codec::CoverageToProto(coverage), codec::OutcomeToProto(outcome)}]);
    }
  }
  add("money", "approved_fen", approved);
  add("money", "condolence_count", condolences);
  add("money", "condolence_fen", condolence);
  add("money", "paid_benefit_fen", paid_benefit);
  add("money", "paid_condolence_fen", paid_condolence);
  add("appeals", "received", appeals_received);
  add("appeals", "closed", appeals_closed);
  add("appeals", "closing_rate_permille",
      appeals_received == 0 ? 0 : appeals_closed * 1000 / appeals_received);
  add("referrals", "open", referrals_open);
  add("referrals", "oldest_age_days", oldest ? std::max(0, at.DaysSince(*oldest)) : 0);
  rows.push_back({"referrals", "as_of", 0, at.ToString()});
  return rows;
}

int RunLiveReport(const LiveReportOptions& options, const std::string& output) {
  // Every replica's figures, and which partitions each covers.
  std::vector<std::unique_ptr<report_api::ReportService::Stub>> replicas;
  std::vector<report_api::GetPlanYearFiguresResponse> figures;
  std::vector<ReplicaPartitions> coverage;
  for (const Connection& c : options.adjudication) {
    replicas.push_back(report_api::ReportService::NewStub(OpenChannel(c)));
    report_api::GetPlanYearFiguresRequest request;
    request.set_plan_year(options.year);
    if (options.as_of) request.set_as_of(options.as_of->ToString());
    report_api::GetPlanYearFiguresResponse response;
    grpc::Status s = replicas.back()->GetPlanYearFigures(NewContext(c).get(), request, &response);
    if (!s.ok()) return Failed(s, c.target);
    ReplicaPartitions held{c.target, response.partition_count(), {}};
    for (const report_api::PartitionPosition& p : response.partitions()) {
      held.partitions.push_back(p.partition());
    }
    coverage.push_back(std::move(held));
    std::cerr << "live: " << c.target << " covers " << kIntakeTopic << " "
              << Positions(response.partitions()) << "\nlive: " << c.target << " read "
              << kDecisionsTopic << " " << Positions(response.decisions_read()) << "\n";
    figures.push_back(std::move(response));
  }
  if (Status s = CheckCoverage(coverage); !s.ok()) {
    std::cerr << "claimsctl: " << s.message() << "\n";
    return kExitUnavailable;
  }

  // Payout's settled money per claim; the replicas keep the claims of the year they hold.
  std::map<std::string, report_api::PaidClaim> paid;  // by claim id
  auto payout = payout_api::PayoutService::NewStub(OpenChannel(options.payout));
  payout_api::ListPaymentsRequest settled;
  settled.set_status(payout_api::SETTLED);
  grpc::Status listed = ForEachPayment(
      *payout, options.payout, settled, kPageSize, [&](const payout_api::Payment& p) {
        report_api::PaidClaim& c = paid[p.claim_id()];
        c.set_claim_id(p.claim_id());
        c.set_member_id(p.member_id());
        if (p.kind() == ev::CONDOLENCE) {
          c.set_condolence_fen(c.condolence_fen() + p.amount_fen());
        } else {
          c.set_benefit_fen(c.benefit_fen() + p.amount_fen());
        }
        return true;
      });
  if (!listed.ok()) return Failed(listed, options.payout.target);
  Fen paid_benefit = 0, paid_condolence = 0;
  auto next = paid.begin();
  while (next != paid.end()) {
    report_api::SumPaidClaimsRequest request;
    request.set_plan_year(options.year);
    for (; next != paid.end() && static_cast<size_t>(request.claims_size()) < kPaidClaimsPerCall;
         ++next) {
      *request.add_claims() = next->second;
    }
    std::vector<ReplicaPartitions> summed;
    for (size_t i = 0; i < replicas.size(); ++i) {
      const Connection& c = options.adjudication[i];
      report_api::SumPaidClaimsResponse response;
      grpc::Status s = replicas[i]->SumPaidClaims(NewContext(c).get(), request, &response);
      if (!s.ok()) return Failed(s, c.target);
      summed.push_back({c.target,
                        response.partition_count(),
                        {response.partitions().begin(), response.partitions().end()}});
      paid_benefit += response.benefit_fen();
      paid_condolence += response.condolence_fen();
    }
    if (Status s = CheckCoverage(summed); !s.ok()) {
      std::cerr << "claimsctl: " << s.message() << "\n";
      return kExitUnavailable;
    }
  }

  PrintReport(options.year, CombineFigures(figures, paid_benefit, paid_condolence, options.as_of),
              output, std::cout);
  return kExitOk;
}

}  // namespace claims::ctl
