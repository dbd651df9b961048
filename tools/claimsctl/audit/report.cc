#include "tools/claimsctl/audit/report.h"

#include <map>
#include <set>

#include "libs/domain/codec/event_codec.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/payments.pb.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

struct Appeal {};

}  // namespace

Result<std::vector<ReportRow>> BuildReport(ExportReader& reader, const PlanSet& plans,
                                           const ReportOptions& options) {
  const int year = options.plan_year;
  Refolder refolder(plans);
  RefoldStep step;
  RecordView record;
  std::optional<Date> latest;
  std::map<std::string, Date> referred_on;        // claim -> date of its current referral
  std::map<std::string, Appeal> appeals_pending;  // claim -> accepted appeal of Y, not closed
  int64_t appeals_received = 0;
  int64_t appeals_closed = 0;
  std::set<std::pair<std::string, uint64_t>> seen_payments;
  std::map<std::string, std::pair<Fen, Fen>> paid;  // claim -> (benefit, condolence)
  if (Status s = reader.Rewind(/*hash=*/false); !s.ok()) return s;
  for (uint64_t n = 0;; ++n) {
    Result<bool> next = reader.Next(record);
    if (!next.ok()) return next.status();
    if (!*next) break;
    if (record.topic == events::kPaymentsTopic) {
      ev::Envelope e;
      if (!e.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size())) ||
          e.type() != "mutualaid.events.v1.PaymentSettled") {
        continue;
      }
      if (!seen_payments.insert({e.event_id(), e.sequence()}).second) continue;
      ev::PaymentSettled p;
      if (!p.ParseFromString(e.payload())) continue;
      auto& [benefit, condolence] = paid[p.claim_id()];
      (p.kind() == ev::CONDOLENCE ? condolence : benefit) += p.amount_fen();
      continue;
    }
    if (record.topic != events::kIntakeTopic) continue;
    refolder.Apply(record, step);
    if (auto d = Date::Parse(step.envelope.business_date()); d && (!latest || *d > *latest)) {
      latest = *d;
    }
    if (!step.input) continue;
    if (const auto* a = std::get_if<domain::AppealInput>(&*step.input)) {
      if (a->date.year() == year) {
        ++appeals_received;
        if (std::holds_alternative<domain::Decision>(step.output.body)) {
          appeals_pending[a->claim] = Appeal{};
        } else {
          ++appeals_closed;
        }
      }
    }
    if (const auto* d = std::get_if<domain::Decision>(&step.output.body)) {
      if (d->outcome == domain::Outcome::kReferred) {
        referred_on[d->claim] = d->decided_on;
      } else {
        referred_on.erase(d->claim);
        if (d->cause == domain::DecisionCause::kReview && appeals_pending.erase(d->claim) > 0) {
          ++appeals_closed;
        }
      }
    }
  }
  const Date as_of = options.as_of ? *options.as_of : latest.value_or(Date());

  std::vector<ReportRow> rows;
  auto add = [&](const std::string& section, const std::string& key, int64_t value) {
    rows.push_back({section, key, value, ""});
  };
  int64_t enrolled = 0, renewals = 0;
  std::map<domain::Occupation, int64_t> by_occupation;
  std::map<std::pair<domain::Coverage, domain::Outcome>, int64_t> claims;
  Fen approved = 0, condolence = 0, paid_benefit = 0, paid_condolence = 0;
  int64_t condolences = 0, open_referrals = 0, oldest_days = 0;
  for (const auto& [id, member] : refolder.members()) {
    if (const domain::EnrollmentRecord* e = member.EnrollmentFor(year)) {
      ++enrolled;
      renewals += e->renewal ? 1 : 0;
      const domain::Occupation o = e->occupation == domain::Occupation::kUnspecified
                                       ? domain::Occupation::kOther
                                       : e->occupation;
      ++by_occupation[o];
    }
    for (const domain::ClaimRecord& c : member.claims) {
      if (c.input.incident_date.year() != year) continue;
      ++claims[{c.input.coverage, c.outcome}];
      if (c.outcome == domain::Outcome::kApproved) {
        approved += c.payable;
        if (c.condolence > 0) {
          ++condolences;
          condolence += c.condolence;
        }
      }
      if (auto it = paid.find(c.input.claim); it != paid.end()) {
        paid_benefit += it->second.first;
        paid_condolence += it->second.second;
      }
      if (c.outcome == domain::Outcome::kReferred) {
        ++open_referrals;
        if (auto it = referred_on.find(c.input.claim); it != referred_on.end()) {
          oldest_days = std::max<int64_t>(oldest_days, as_of.DaysSince(it->second));
        }
      }
    }
  }
  add("members", "enrolled", enrolled);
  add("members", "new", enrolled - renewals);
  add("members", "renewal", renewals);
  for (domain::Occupation o : {domain::Occupation::kCourier, domain::Occupation::kFoodDelivery,
                               domain::Occupation::kTruckDriver, domain::Occupation::kRideHailing,
                               domain::Occupation::kOther}) {
    add("members", std::string(domain::Name(o)), by_occupation[o]);
  }
  for (int cv = 1; cv <= 6; ++cv) {
    const auto coverage = static_cast<domain::Coverage>(cv);
    for (domain::Outcome outcome :
         {domain::Outcome::kApproved, domain::Outcome::kDenied, domain::Outcome::kReferred}) {
      add("claims", std::string(domain::Name(coverage)) + "/" + std::string(domain::Name(outcome)),
          claims[{coverage, outcome}]);
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
  add("referrals", "open", open_referrals);
  add("referrals", "oldest_age_days", oldest_days);
  rows.push_back({"referrals", "as_of", 0, as_of.ToString()});
  return rows;
}

}  // namespace claims::audit
