#include "services/adjudication/report.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libs/domain/codec/enums.h"
#include "libs/domain/codec/state_codec.h"
#include "libs/domain/state.h"
#include "libs/events/topics.h"
#include "services/adjudication/adjudication_fold.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

constexpr int kReadAttempts = 5;
constexpr int kMinYear = 2000;
constexpr int kMaxYear = 2100;

void CheckYear(int32_t year, std::vector<FieldViolation>& v) {
  if (year < kMinYear || year > kMaxYear) v.push_back({"plan_year", "must be a year 2000-2100"});
}

// A claim of a member, as a map key.
std::string ClaimKey(std::string_view member, std::string_view claim) {
  std::string key(member);
  key += '\0';
  key += claim;
  return key;
}

std::string ClaimOf(const std::string& claim_key) {
  return claim_key.substr(claim_key.find('\0') + 1);
}

Status NoPartitionCount() {
  return Unavailable(std::string("the partition count of ") + events::kIntakeTopic +
                     " is not known yet; retry");
}

// The store's next offset of each partition (0 when it has none yet).
Result<std::map<int32_t, int64_t>> ReadOffsets(const store::StateStore& store,
                                               const std::vector<int32_t>& partitions) {
  std::map<int32_t, int64_t> offsets;
  for (int32_t p : partitions) {
    Result<std::optional<int64_t>> offset = store.ReadOffset(kInputTopic, p);
    if (!offset.ok()) return offset.status();
    offsets[p] = offset->value_or(0);
  }
  return offsets;
}

// What one read of the member states and the appeals model adds up to.
struct Tally {
  int64_t enrolled = 0;
  int64_t renewal = 0;
  std::map<domain::Occupation, int64_t> occupations;
  std::map<std::pair<domain::Coverage, domain::Outcome>, int64_t> claims;
  Fen approved = 0;
  int64_t condolences = 0;
  Fen condolence = 0;
  int64_t referrals_open = 0;
  std::optional<Date> oldest_referral;
  int64_t appeals_received = 0;
  int64_t appeals_closed = 0;
  // Claims sent back by an appeal (of any year): ClaimKey -> current outcome.
  std::map<std::string, domain::Outcome> appealed;
  // Of them, the claims of the year still REFERRED: their referral date is the appeal's.
  std::vector<std::string> referred_by_appeal;

  void Referred(Date on) {
    if (!oldest_referral || on < *oldest_referral) oldest_referral = on;
  }

  void Add(const std::string& member, const domain::MemberState& state, int year) {
    if (const domain::EnrollmentRecord* e = state.EnrollmentFor(year)) {
      ++enrolled;
      renewal += e->renewal ? 1 : 0;
      ++occupations[e->occupation == domain::Occupation::kUnspecified ? domain::Occupation::kOther
                                                                      : e->occupation];
    }
    for (const domain::ClaimRecord& c : state.claims) {
      if (c.appealed) appealed[ClaimKey(member, c.input.claim)] = c.outcome;
      if (c.input.incident_date.year() != year) continue;
      ++claims[{c.input.coverage, c.outcome}];
      if (c.outcome == domain::Outcome::kApproved) {
        approved += c.payable;
        if (c.condolence > 0) {
          ++condolences;
          condolence += c.condolence;
        }
      } else if (c.outcome == domain::Outcome::kReferred) {
        ++referrals_open;
        // REFERRED on submission (decided on the claim's date), or sent back by an appeal.
        if (c.appealed) {
          referred_by_appeal.push_back(ClaimKey(member, c.input.claim));
        } else {
          Referred(c.input.date);
        }
      }
    }
  }
};

// Reads the member states of `held` (of `count` partitions) and the appeals into `t`.
Status Read(const ReportSources& sources, int year, int32_t count, const std::set<int32_t>& held,
            Tally& t) {
  Status bad;
  Status scanned =
      sources.store.ScanPrefix(kMembersCf, "", [&](std::string_view key, std::string_view value) {
        if (held.count(KafkaPartitionOf(key, count)) == 0) return true;
        Result<domain::MemberState> state = codec::DecodeMemberState(std::string(value));
        if (!state.ok()) {
          bad = state.status();
          return false;
        }
        t.Add(std::string(key), *state, year);
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!bad.ok()) return bad;

  std::map<std::string, Date> accepted;  // ClaimKey -> the accepted appeal's date
  Status visited = sources.appeals.ForEach([&](const AppealRecord& a) {
    if (held.count(KafkaPartitionOf(a.member_id, count)) == 0) return;
    if (a.accepted) {
      accepted[ClaimKey(a.member_id, a.claim_id)] = a.date;
    } else if (a.date.year() == year) {
      ++t.appeals_received;  // rejected on arrival: closed at once
      ++t.appeals_closed;
    }
  });
  if (!visited.ok()) return visited;
  for (const auto& [claim, outcome] : t.appealed) {
    auto it = accepted.find(claim);
    if (it == accepted.end()) {
      return Unavailable("the appeal of claim " + ClaimOf(claim) + " is not yet read from " +
                         events::kDecisionsTopic + "; retry");
    }
    if (it->second.year() != year) continue;
    ++t.appeals_received;
    // Only a review moves a claim an appeal sent back to REFERRED.
    if (outcome != domain::Outcome::kReferred) ++t.appeals_closed;
  }
  for (const std::string& claim : t.referred_by_appeal) t.Referred(accepted.at(claim));
  return Status::Ok();
}

void Fill(const Tally& t, report_api::GetPlanYearFiguresResponse& r, Date as_of) {
  r.set_members_enrolled(t.enrolled);
  r.set_members_renewal(t.renewal);
  for (const auto& [occupation, members] : t.occupations) {
    report_api::OccupationCount* c = r.add_members_by_occupation();
    c->set_occupation(static_cast<ev::Occupation>(codec::OccupationToProto(occupation)));
    c->set_members(members);
  }
  for (const auto& [key, claims] : t.claims) {
    report_api::ClaimCount* c = r.add_claims();
    c->set_coverage(static_cast<ev::Coverage>(codec::CoverageToProto(key.first)));
    c->set_outcome(static_cast<ev::Outcome>(codec::OutcomeToProto(key.second)));
    c->set_claims(claims);
  }
  r.set_approved_fen(t.approved);
  r.set_condolence_count(t.condolences);
  r.set_condolence_fen(t.condolence);
  r.set_appeals_received(t.appeals_received);
  r.set_appeals_closed(t.appeals_closed);
  r.set_referrals_open(t.referrals_open);
  if (t.oldest_referral) {
    r.set_oldest_referred_on(t.oldest_referral->ToString());
    r.set_oldest_referral_age_days(std::max(0, as_of.DaysSince(*t.oldest_referral)));
  }
}

}  // namespace

Result<report_api::GetPlanYearFiguresResponse> ReportHandler::Figures(
    const report_api::GetPlanYearFiguresRequest& request) const {
  std::vector<FieldViolation> v;
  CheckYear(request.plan_year(), v);
  std::optional<Date> as_of = sources_.clock.Today();
  if (!request.as_of().empty()) {
    as_of = Date::Parse(request.as_of());
    if (!as_of) v.push_back({"as_of", "must be a date YYYY-MM-DD"});
  }
  if (!v.empty()) return InvalidArgument("invalid report request", std::move(v));
  const int32_t count = sources_.input_partitions.load();
  if (count <= 0) return NoPartitionCount();

  Status last = Status::Ok();
  for (int attempt = 1; attempt <= kReadAttempts; ++attempt) {
    const HeldPartitions::Snapshot held = sources_.held.Get();
    Result<std::map<int32_t, int64_t>> before = ReadOffsets(sources_.store, held.partitions);
    if (!before.ok()) return before.status();
    Tally tally;
    const Status read =
        Read(sources_, request.plan_year(), count,
             std::set<int32_t>(held.partitions.begin(), held.partitions.end()), tally);
    if (!read.ok() && read.code() != StatusCode::kUnavailable) return read;
    Result<std::map<int32_t, int64_t>> after = ReadOffsets(sources_.store, held.partitions);
    if (!after.ok()) return after.status();
    if (sources_.held.Get().version != held.version) {
      last = Unavailable("the partitions of " + std::string(events::kIntakeTopic) +
                         " this replica holds moved during the read; retry");
      continue;
    }
    if (!read.ok()) {
      last = read;
      continue;
    }
    if (*before != *after && attempt < kReadAttempts) continue;

    report_api::GetPlanYearFiguresResponse response;
    response.set_plan_year(request.plan_year());
    response.set_as_of(as_of->ToString());
    response.set_partition_count(count);
    for (const auto& [partition, offset] : *before) {
      report_api::PartitionPosition* p = response.add_partitions();
      p->set_partition(partition);
      p->set_next_offset(offset);
      p->set_next_offset_at_end(after->at(partition));
    }
    Result<std::map<int32_t, int64_t>> read_decisions = sources_.appeals.Positions();
    if (!read_decisions.ok()) return read_decisions.status();
    for (const auto& [partition, offset] : *read_decisions) {
      report_api::PartitionPosition* p = response.add_decisions_read();
      p->set_partition(partition);
      p->set_next_offset(offset);
      p->set_next_offset_at_end(offset);
    }
    Fill(tally, response, *as_of);
    return response;
  }
  return last;
}

Result<report_api::SumPaidClaimsResponse> ReportHandler::SumPaid(
    const report_api::SumPaidClaimsRequest& request) const {
  std::vector<FieldViolation> v;
  CheckYear(request.plan_year(), v);
  if (request.claims_size() > kMaxPaidClaims) {
    v.push_back({"claims", "at most " + std::to_string(kMaxPaidClaims) + " claims a call"});
  } else {
    for (int i = 0; i < request.claims_size(); ++i) {
      const report_api::PaidClaim& c = request.claims(i);
      const std::string field = "claims[" + std::to_string(i) + "].";
      if (c.claim_id().empty()) v.push_back({field + "claim_id", "is required"});
      if (c.member_id().empty()) v.push_back({field + "member_id", "is required"});
      if (c.benefit_fen() < 0) v.push_back({field + "benefit_fen", "must not be negative"});
      if (c.condolence_fen() < 0) v.push_back({field + "condolence_fen", "must not be negative"});
    }
  }
  if (!v.empty()) return InvalidArgument("invalid paid claims", std::move(v));
  const int32_t count = sources_.input_partitions.load();
  if (count <= 0) return NoPartitionCount();

  const HeldPartitions::Snapshot held = sources_.held.Get();
  const std::set<int32_t> held_set(held.partitions.begin(), held.partitions.end());
  report_api::SumPaidClaimsResponse response;
  std::map<std::string, domain::MemberState> states;  // read once per call
  for (const report_api::PaidClaim& c : request.claims()) {
    const int32_t partition = KafkaPartitionOf(c.member_id(), count);
    if (held_set.count(partition) == 0) continue;
    auto it = states.find(c.member_id());
    if (it == states.end()) {
      Result<std::optional<std::string>> stored = sources_.store.Get(kMembersCf, c.member_id());
      if (!stored.ok()) return stored.status();
      domain::MemberState state;
      if (stored->has_value()) {
        Result<domain::MemberState> decoded = codec::DecodeMemberState(**stored);
        if (!decoded.ok()) return decoded.status();
        state = std::move(decoded).value();
      }
      it = states.emplace(c.member_id(), std::move(state)).first;
    }
    const domain::ClaimRecord* claim = it->second.FindClaim(c.claim_id());
    if (claim == nullptr) {
      return Unavailable("claim " + c.claim_id() + " is not yet in this replica's state of " +
                         std::string(events::kIntakeTopic) + " partition " +
                         std::to_string(partition) + "; retry");
    }
    if (claim->input.incident_date.year() != request.plan_year()) continue;
    response.set_claims_matched(response.claims_matched() + 1);
    response.set_benefit_fen(response.benefit_fen() + c.benefit_fen());
    response.set_condolence_fen(response.condolence_fen() + c.condolence_fen());
  }
  if (sources_.held.Get().version != held.version) {
    return Unavailable("the partitions of " + std::string(events::kIntakeTopic) +
                       " this replica holds moved during the read; retry");
  }
  response.set_partition_count(count);
  for (int32_t p : held.partitions) response.add_partitions(p);
  return response;
}

}  // namespace claims::adjudication
