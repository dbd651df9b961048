#include "libs/domain/codec/state_codec.h"

#include "libs/domain/codec/enums.h"
#include "mutualaid/adjudication/v1/state.pb.h"

namespace claims::codec {
namespace {

namespace pb = ::mutualaid::adjudication::v1;
namespace ev = ::mutualaid::events::v1;

Date D(int32_t days) { return Date::FromDays(days); }

domain::Outcome OutcomeFromProto(int v) {
  return static_cast<domain::Outcome>(v - 1);  // the wire has OUTCOME_UNSPECIFIED first
}
domain::Reason ReasonFromProto(int v) { return static_cast<domain::Reason>(v - 1); }

}  // namespace

std::string EncodeMemberState(const domain::MemberState& s) {
  pb::MemberState p;
  p.set_member_id(s.id);
  p.set_gender(static_cast<ev::Gender>(GenderToProto(s.gender)));
  p.set_has_birth_date(s.birth_date.has_value());
  if (s.birth_date) p.set_birth_date(s.birth_date->days_since_epoch());
  for (const domain::EnrollmentRecord& e : s.enrollments) {
    pb::EnrollmentState* out = p.add_enrollments();
    out->set_year(e.year);
    out->set_start(e.start.days_since_epoch());
    out->set_end(e.end.days_since_epoch());
    out->set_terminated(e.terminated);
    out->set_renewal(e.renewal);
    out->set_continuous_start(e.continuous_start.days_since_epoch());
    out->set_occupation(static_cast<ev::Occupation>(OccupationToProto(e.occupation)));
  }
  for (const domain::ClaimRecord& c : s.claims) {
    pb::ClaimState* out = p.add_claims();
    const domain::ClaimInput& in = c.input;
    out->set_claim_id(in.claim);
    out->set_coverage(static_cast<ev::Coverage>(CoverageToProto(in.coverage)));
    out->set_incident_date(in.incident_date.days_since_epoch());
    out->set_date(in.date.days_since_epoch());
    out->set_amount_fen(in.amount);
    out->set_condition_code(in.condition_code);
    out->set_cause(in.cause);
    out->set_child_id(in.child_id);
    out->set_has_child_birth_date(in.child_birth_date.has_value());
    if (in.child_birth_date) out->set_child_birth_date(in.child_birth_date->days_since_epoch());
    for (const std::string& d : in.documents) out->add_documents(d);
    out->set_outcome(static_cast<ev::Outcome>(OutcomeToProto(c.outcome)));
    out->set_payable_fen(c.payable);
    out->set_condolence_fen(c.condolence);
    for (domain::Reason r : c.reasons) out->add_reasons(static_cast<ev::Reason>(ReasonToProto(r)));
    out->set_limit_applied(c.limit_applied);
    out->set_appealed(c.appealed);
    out->set_denied_on(c.denied_on.days_since_epoch());
    out->set_revision(c.revision);
  }
  p.set_last_sequence(s.last_sequence);
  return p.SerializeAsString();
}

Result<domain::MemberState> DecodeMemberState(const std::string& bytes) {
  pb::MemberState p;
  if (!p.ParseFromString(bytes)) return DataLoss("stored member state does not parse");
  domain::MemberState s;
  s.id = p.member_id();
  s.gender = GenderFromProto(p.gender());
  if (p.has_birth_date()) s.birth_date = D(p.birth_date());
  for (const pb::EnrollmentState& in : p.enrollments()) {
    domain::EnrollmentRecord e;
    e.year = in.year();
    e.start = D(in.start());
    e.end = D(in.end());
    e.terminated = in.terminated();
    e.renewal = in.renewal();
    e.continuous_start = D(in.continuous_start());
    e.occupation = OccupationFromProto(in.occupation());
    s.enrollments.push_back(e);
  }
  for (const pb::ClaimState& in : p.claims()) {
    domain::ClaimRecord c;
    c.input.claim = in.claim_id();
    c.input.member = s.id;
    c.input.coverage = CoverageFromProto(in.coverage());
    c.input.incident_date = D(in.incident_date());
    c.input.date = D(in.date());
    c.input.amount = in.amount_fen();
    c.input.condition_code = in.condition_code();
    c.input.cause = in.cause();
    c.input.child_id = in.child_id();
    if (in.has_child_birth_date()) c.input.child_birth_date = D(in.child_birth_date());
    c.input.documents.assign(in.documents().begin(), in.documents().end());
    if (in.outcome() < ev::APPROVED || in.outcome() > ev::REFERRED) {
      return DataLoss("stored claim " + in.claim_id() + " has no outcome");
    }
    c.outcome = OutcomeFromProto(in.outcome());
    c.payable = in.payable_fen();
    c.condolence = in.condolence_fen();
    for (int r : in.reasons()) {
      if (r < ev::NOT_ENROLLED || r > ev::APPEALED) return DataLoss("stored reason is unknown");
      c.reasons.push_back(ReasonFromProto(r));
    }
    c.limit_applied = in.limit_applied();
    c.appealed = in.appealed();
    c.denied_on = D(in.denied_on());
    c.revision = in.revision();
    s.claims.push_back(std::move(c));
  }
  s.last_sequence = p.last_sequence();
  return s;
}

}  // namespace claims::codec
