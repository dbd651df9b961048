#include "tools/claimsctl/audit/history.h"

#include <algorithm>
#include <set>

#include "libs/base/money.h"
#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/events/v1/payments.pb.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

std::string Reasons(const ev::ClaimDecided& d) {
  std::string out;
  for (int r : d.reasons()) {
    out += (out.empty() ? "" : ",") + ev::Reason_Name(static_cast<ev::Reason>(r));
  }
  return out;
}

// The claim an event names and what it says; false when it names another claim.
bool Describe(const ev::Envelope& e, const std::string& claim, std::string* summary) {
  const std::string& t = e.type();
  if (t == codec::kClaimSubmitted) {
    ev::ClaimSubmitted m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = ev::Coverage_Name(m.coverage()) + ", incident " + m.incident_date() + ", amount " +
               FormatFen(m.amount_fen()) + " fen, member " + m.member_id() + ", plan " +
               m.plan_id();
  } else if (t == codec::kReviewRecorded) {
    ev::ReviewRecorded m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = ev::ReviewRecorded::Action_Name(m.action()) + " by " + m.reviewer_id();
  } else if (t == codec::kClaimAppealed) {
    ev::ClaimAppealed m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = "appeal dated " + m.date();
  } else if (t == codec::kClaimDecided) {
    ev::ClaimDecided m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = ev::Outcome_Name(m.outcome()) + " payable " + FormatFen(m.payable_fen()) +
               " fen, condolence " + FormatFen(m.condolence_fen()) + " fen, revision " +
               std::to_string(m.revision()) + " (" + m.cause_type() + "), reasons " + Reasons(m);
  } else if (t == codec::kInputRejected) {
    ev::InputRejected m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = m.code() + ": " + m.detail();
  } else if (t == "mutualaid.events.v1.PaymentInstructed") {
    ev::PaymentInstructed m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = ev::PaymentKind_Name(m.kind()) + " " + FormatFen(m.amount_fen()) + " fen, payment " +
               m.payment_id() +
               (m.replaces_payment_id().empty() ? "" : ", replaces " + m.replaces_payment_id());
  } else if (t == "mutualaid.events.v1.PaymentSettled") {
    ev::PaymentSettled m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = "bank " + m.bank_status() + ": " + ev::PaymentKind_Name(m.kind()) + " " +
               FormatFen(m.amount_fen()) + " fen settled, payment " + m.payment_id();
  } else if (t == "mutualaid.events.v1.PaymentFailed") {
    ev::PaymentFailed m;
    if (!m.ParseFromString(e.payload()) || m.claim_id() != claim) return false;
    *summary = "bank " + m.bank_status() + " " + m.reason_code() + ": payment " + m.payment_id() +
               " failed";
  } else {
    return false;
  }
  return true;
}

int TopicRank(const std::string& topic) {
  if (topic == "intake.events.v1") return 0;
  if (topic == "adjudication.decisions.v1") return 1;
  return 2;
}

}  // namespace

Result<std::vector<HistoryEntry>> ClaimHistory(ExportReader& reader, const std::string& claim_id) {
  std::vector<HistoryEntry> entries;
  std::set<std::string> seen;  // event ids: identical repeats are shown once
  RecordView record;
  ev::Envelope e;
  if (Status s = reader.Rewind(/*hash=*/false); !s.ok()) return s;
  while (true) {
    Result<bool> next = reader.Next(record);
    if (!next.ok()) return next.status();
    if (!*next) break;
    if (record.envelope.find(claim_id) == std::string_view::npos) continue;
    if (!e.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()))) {
      continue;
    }
    std::string summary;
    if (!Describe(e, claim_id, &summary) || !seen.insert(e.event_id()).second) continue;
    entries.push_back({e.business_date(), std::string(record.topic), record.partition,
                       record.offset, e.event_id(), e.type().substr(e.type().rfind('.') + 1),
                       std::move(summary)});
  }
  if (entries.empty()) return NotFound("no event names claim " + claim_id);
  // Log order within a topic; across topics by business date, inputs before their outputs.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const HistoryEntry& a, const HistoryEntry& b) {
                     if (a.business_date != b.business_date)
                       return a.business_date < b.business_date;
                     return TopicRank(a.topic) < TopicRank(b.topic);
                   });
  return entries;
}

}  // namespace claims::audit
