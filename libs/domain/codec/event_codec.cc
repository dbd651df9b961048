#include "libs/domain/codec/event_codec.h"

#include <cassert>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/enums.h"
#include "mutualaid/events/v1/intake.pb.h"

namespace claims::codec {
namespace {

namespace ev = ::mutualaid::events::v1;

class Fields {
 public:
  Date RequiredDate(const std::string& field, const std::string& text) {
    if (auto d = Date::Parse(text)) return *d;
    Bad(field, text.empty() ? "missing date" : "'" + text + "' is not a YYYY-MM-DD date");
    return Date();
  }
  std::optional<Date> OptionalDate(const std::string& field, const std::string& text) {
    if (text.empty()) return std::nullopt;
    return RequiredDate(field, text);
  }
  void Required(const std::string& field, const std::string& value) {
    if (value.empty()) Bad(field, "must not be empty");
  }
  void Bad(const std::string& field, std::string what) {
    list_.push_back({"payload." + field, std::move(what)});
  }
  std::vector<FieldViolation> Take() { return std::move(list_); }
  bool ok() const { return list_.empty(); }

 private:
  std::vector<FieldViolation> list_;
};

// One payload message per type and thread, reused: parsing into a message that already owns
// its strings' buffers saves an allocation per field, which mattered on the restore path.
// ParseFromString clears it first, so nothing of the previous event survives.
template <typename M>
M& Scratch() {
  thread_local M message;
  return message;
}

template <typename M>
bool Parse(const ev::Envelope& envelope, M& message) {
  return message.ParseFromString(envelope.payload());
}

}  // namespace

ev::Envelope Wrap(const std::string& type, const google::protobuf::MessageLite& payload) {
  ev::Envelope e;
  e.set_type(type);
  e.set_schema_version(1);
  payload.SerializeToString(e.mutable_payload());
  const crypto::Sha256Digest digest = crypto::Sha256(e.payload());
  e.set_payload_sha256(std::string(crypto::AsBytes(digest)));
  return e;
}

Result<domain::Input> DecodeInput(const ev::Envelope& envelope) {
  return DecodeInput(envelope, nullptr);
}

Result<domain::Input> DecodeInput(const ev::Envelope& envelope, std::string* plan_id) {
  std::string ignored;
  if (plan_id == nullptr) plan_id = &ignored;
  plan_id->clear();
  if (crypto::AsBytes(crypto::Sha256(envelope.payload())) != envelope.payload_sha256()) {
    return DataLoss("event " + envelope.event_id() + ": payload does not match payload_sha256");
  }
  const std::string& type = envelope.type();
  Fields f;
  domain::Input input;
  bool parsed = true;
  if (type == kMemberEnrolled) {
    ev::MemberEnrolled& m = Scratch<ev::MemberEnrolled>();
    parsed = Parse(envelope, m);
    domain::EnrollInput in;
    in.member = m.member_id();
    f.Required("member_id", m.member_id());
    in.gender = GenderFromProto(m.gender());
    if (in.gender == domain::Gender::kUnspecified) f.Bad("gender", "must be MALE or FEMALE");
    in.birth_date = f.RequiredDate("birth_date", m.birth_date());
    in.occupation = OccupationFromProto(m.occupation());
    if (in.occupation == domain::Occupation::kUnspecified) f.Bad("occupation", "must be set");
    in.plan_year = m.plan_year();
    if (m.plan_year() < 1 || m.plan_year() > 9999) f.Bad("plan_year", "must be a year");
    in.start_date = f.RequiredDate("start_date", m.start_date());
    input = std::move(in);
  } else if (type == kMemberTerminated) {
    ev::MemberTerminated& m = Scratch<ev::MemberTerminated>();
    parsed = Parse(envelope, m);
    f.Required("member_id", m.member_id());
    input = domain::TerminateInput{m.member_id(), f.RequiredDate("date", m.date())};
  } else if (type == kClaimSubmitted) {
    ev::ClaimSubmitted& m = Scratch<ev::ClaimSubmitted>();
    parsed = Parse(envelope, m);
    domain::ClaimInput in;
    in.claim = m.claim_id();
    f.Required("claim_id", m.claim_id());
    in.member = m.member_id();
    f.Required("member_id", m.member_id());
    in.coverage = CoverageFromProto(m.coverage());
    if (in.coverage == domain::Coverage::kUnspecified) f.Bad("coverage", "must be set");
    in.incident_date = f.RequiredDate("incident_date", m.incident_date());
    in.date = f.RequiredDate("date", m.date());
    in.amount = m.amount_fen();
    in.condition_code = m.condition_code();
    in.cause = m.cause();
    in.child_id = m.child_id();
    in.child_birth_date = f.OptionalDate("child_birth_date", m.child_birth_date());
    in.documents.assign(m.documents().begin(), m.documents().end());
    *plan_id = m.plan_id();
    input = std::move(in);
  } else if (type == kReviewRecorded) {
    ev::ReviewRecorded& m = Scratch<ev::ReviewRecorded>();
    parsed = Parse(envelope, m);
    domain::ReviewInput in;
    in.claim = m.claim_id();
    f.Required("claim_id", m.claim_id());
    in.member = m.member_id();
    in.date = f.RequiredDate("date", m.date());
    if (m.action() == ev::ReviewRecorded::APPROVE) {
      in.action = domain::ReviewAction::kApprove;
    } else if (m.action() == ev::ReviewRecorded::DENY) {
      in.action = domain::ReviewAction::kDeny;
    } else {
      f.Bad("action", "must be APPROVE or DENY");
    }
    *plan_id = m.plan_id();
    input = std::move(in);
  } else if (type == kClaimAppealed) {
    ev::ClaimAppealed& m = Scratch<ev::ClaimAppealed>();
    parsed = Parse(envelope, m);
    f.Required("claim_id", m.claim_id());
    *plan_id = m.plan_id();
    input = domain::AppealInput{m.claim_id(), m.member_id(), f.RequiredDate("date", m.date())};
  } else {
    return InvalidArgument("event " + envelope.event_id() + ": not an input type",
                           {{"type", "unknown input type '" + type + "'"}});
  }
  if (!parsed) {
    return InvalidArgument("event " + envelope.event_id() + ": payload is not a " + type,
                           {{"payload", "cannot be parsed"}});
  }
  if (!domain::MemberOf(input).empty() && !envelope.member_id().empty() &&
      domain::MemberOf(input) != envelope.member_id()) {
    f.Bad("member_id", "differs from the envelope's member_id");
  }
  if (!f.ok()) {
    return InvalidArgument("event " + envelope.event_id() + " (" + type + ") is invalid", f.Take());
  }
  return input;
}

ev::Envelope EncodeInput(const domain::Input& input, const std::string& event_id,
                         const std::string& plan_id) {
  ev::Envelope e;
  std::string date;
  if (const auto* in = std::get_if<domain::EnrollInput>(&input)) {
    ev::MemberEnrolled m;
    m.set_member_id(in->member);
    m.set_gender(static_cast<ev::Gender>(GenderToProto(in->gender)));
    m.set_birth_date(in->birth_date.ToString());
    m.set_occupation(static_cast<ev::Occupation>(OccupationToProto(in->occupation)));
    m.set_plan_year(in->plan_year);
    m.set_start_date(in->start_date.ToString());
    e = Wrap(kMemberEnrolled, m);
    date = in->start_date.ToString();
  } else if (const auto* in = std::get_if<domain::TerminateInput>(&input)) {
    ev::MemberTerminated m;
    m.set_member_id(in->member);
    m.set_date(in->date.ToString());
    e = Wrap(kMemberTerminated, m);
    date = in->date.ToString();
  } else if (const auto* in = std::get_if<domain::ClaimInput>(&input)) {
    ev::ClaimSubmitted m;
    m.set_claim_id(in->claim);
    m.set_member_id(in->member);
    m.set_coverage(static_cast<ev::Coverage>(CoverageToProto(in->coverage)));
    m.set_incident_date(in->incident_date.ToString());
    m.set_date(in->date.ToString());
    m.set_amount_fen(in->amount);
    m.set_condition_code(in->condition_code);
    m.set_cause(in->cause);
    m.set_child_id(in->child_id);
    if (in->child_birth_date) m.set_child_birth_date(in->child_birth_date->ToString());
    for (const std::string& d : in->documents) m.add_documents(d);
    m.set_plan_id(plan_id);
    e = Wrap(kClaimSubmitted, m);
    date = in->date.ToString();
  } else if (const auto* in = std::get_if<domain::ReviewInput>(&input)) {
    ev::ReviewRecorded m;
    m.set_claim_id(in->claim);
    m.set_member_id(in->member);
    m.set_date(in->date.ToString());
    m.set_action(in->action == domain::ReviewAction::kApprove ? ev::ReviewRecorded::APPROVE
                                                              : ev::ReviewRecorded::DENY);
    m.set_plan_id(plan_id);
    e = Wrap(kReviewRecorded, m);
    date = in->date.ToString();
  } else {
    const auto& appeal = std::get<domain::AppealInput>(input);
    ev::ClaimAppealed m;
    m.set_claim_id(appeal.claim);
    m.set_member_id(appeal.member);
    m.set_date(appeal.date.ToString());
    m.set_plan_id(plan_id);
    e = Wrap(kClaimAppealed, m);
    date = appeal.date.ToString();
  }
  e.set_event_id(event_id);
  e.set_member_id(domain::MemberOf(input));
  e.set_business_date(date);
  e.set_producer("intake");
  e.set_trace_id(event_id);
  return e;
}

ev::ClaimDecided ToProto(const domain::Decision& d) {
  ev::ClaimDecided p;
  p.set_claim_id(d.claim);
  p.set_member_id(d.member);
  p.set_coverage(static_cast<ev::Coverage>(CoverageToProto(d.coverage)));
  p.set_incident_date(d.incident_date.ToString());
  p.set_outcome(static_cast<ev::Outcome>(OutcomeToProto(d.outcome)));
  p.set_payable_fen(d.payable);
  p.set_condolence_fen(d.condolence);
  for (domain::Reason r : d.reasons) p.add_reasons(static_cast<ev::Reason>(ReasonToProto(r)));
  for (const std::string& line : d.trace) p.add_trace(line);
  p.set_revision(d.revision);
  p.set_decided_on(d.decided_on.ToString());
  p.set_plan_id(d.plan_id);
  p.set_plan_sha256(d.plan_sha256);
  p.set_cause_type(std::string(domain::Name(d.cause)));
  return p;
}

ev::InputRejected ToProto(const domain::InputRejection& r) {
  ev::InputRejected p;
  p.set_member_id(r.member);
  p.set_code(std::string(domain::Name(r.code)));
  p.set_detail(r.detail);
  p.set_claim_id(r.claim);
  p.set_plan_id(r.plan_id);
  p.set_plan_sha256(r.plan_sha256);
  return p;
}

ev::Envelope EncodeOutput(const domain::Output& output, const ev::Envelope& input) {
  assert(!output.empty());
  ev::Envelope e;
  std::string member;
  if (const auto* d = std::get_if<domain::Decision>(&output.body)) {
    ev::ClaimDecided p = ToProto(*d);
    p.set_input_event_id(input.event_id());
    p.set_input_sha256(input.payload_sha256());
    e = Wrap(kClaimDecided, p);
    member = d->member;
  } else {
    const auto& r = std::get<domain::InputRejection>(output.body);
    ev::InputRejected p = ToProto(r);
    p.set_input_event_id(input.event_id());
    p.set_input_sha256(input.payload_sha256());
    p.set_input_type(input.type());
    e = Wrap(kInputRejected, p);
    member = r.member;
  }
  // One input yields at most one output, so the input's id plus a suffix is unique and stable.
  e.set_event_id(input.event_id() + "/out");
  e.set_member_id(member.empty() ? input.member_id() : member);
  e.set_business_date(input.business_date());
  e.set_producer("adjudication");
  e.set_answers_event_id(input.event_id());
  e.set_answers_sha256(input.payload_sha256());
  e.set_sequence(output.sequence);
  e.set_trace_id(input.trace_id());
  return e;
}

}  // namespace claims::codec
