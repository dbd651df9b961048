#include "tools/claimsctl/audit/wire_codec.h"

#include <cassert>
#include <climits>

#include "libs/domain/codec/enums.h"
#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "tools/claimsctl/audit/wire.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;
using wire::Field;
using wire::PutBytes;
using wire::PutInt;

// The fields of one payload, each checked against the message's schema, handed to `take` in wire
// order; false when protobuf might not parse the payload as that message.
template <typename Message, typename Take>
bool ReadPayload(std::string_view payload, Take take) {
  static const wire::Schema& schema = wire::Schema::For(Message::descriptor());
  wire::Reader reader(payload);
  Field f;
  while (reader.Next(f)) {
    if (!schema.Accepts(f)) return false;
    take(f);
  }
  return reader.ok();
}

// An enum or int32 field as protobuf stores it; false for values outside int32 (negative ones
// included), which the codec's path handles.
bool Int32(const Field& f, int* out) {
  if (f.varint > static_cast<uint64_t>(INT_MAX)) return false;
  *out = static_cast<int>(f.varint);
  return true;
}

std::optional<Date> RequiredDate(std::string_view text) { return Date::Parse(text); }

bool DecodeEnrolled(std::string_view payload, domain::Input& input) {
  std::string_view member, birth, start;
  int gender = 0, occupation = 0, year = 0;
  bool ints_ok = true;
  const bool parsed = ReadPayload<ev::MemberEnrolled>(payload, [&](const Field& f) {
    switch (f.number) {
      case ev::MemberEnrolled::kMemberIdFieldNumber:
        member = f.bytes;
        break;
      case ev::MemberEnrolled::kGenderFieldNumber:
        ints_ok = ints_ok && Int32(f, &gender);
        break;
      case ev::MemberEnrolled::kBirthDateFieldNumber:
        birth = f.bytes;
        break;
      case ev::MemberEnrolled::kOccupationFieldNumber:
        ints_ok = ints_ok && Int32(f, &occupation);
        break;
      case ev::MemberEnrolled::kPlanYearFieldNumber:
        ints_ok = ints_ok && Int32(f, &year);
        break;
      case ev::MemberEnrolled::kStartDateFieldNumber:
        start = f.bytes;
        break;
      default:
        break;
    }
  });
  if (!parsed || !ints_ok || member.empty()) return false;
  domain::EnrollInput in;
  in.gender = codec::GenderFromProto(gender);
  in.occupation = codec::OccupationFromProto(occupation);
  const std::optional<Date> birth_date = RequiredDate(birth);
  const std::optional<Date> start_date = RequiredDate(start);
  if (in.gender == domain::Gender::kUnspecified ||
      in.occupation == domain::Occupation::kUnspecified || !birth_date || !start_date || year < 1 ||
      year > 9999) {
    return false;
  }
  in.member = std::string(member);
  in.birth_date = *birth_date;
  in.plan_year = year;
  in.start_date = *start_date;
  input = std::move(in);
  return true;
}

bool DecodeTerminated(std::string_view payload, domain::Input& input) {
  std::string_view member, date;
  const bool parsed = ReadPayload<ev::MemberTerminated>(payload, [&](const Field& f) {
    if (f.number == ev::MemberTerminated::kMemberIdFieldNumber) member = f.bytes;
    if (f.number == ev::MemberTerminated::kDateFieldNumber) date = f.bytes;
  });
  const std::optional<Date> d = RequiredDate(date);
  if (!parsed || member.empty() || !d) return false;
  input = domain::TerminateInput{std::string(member), *d};
  return true;
}

bool DecodeSubmitted(std::string_view payload, domain::Input& input, std::string_view& plan_id) {
  domain::ClaimInput in;
  std::string_view claim, member, incident, date, child_birth;
  int coverage = 0;
  bool ints_ok = true;
  const bool parsed = ReadPayload<ev::ClaimSubmitted>(payload, [&](const Field& f) {
    switch (f.number) {
      case ev::ClaimSubmitted::kClaimIdFieldNumber:
        claim = f.bytes;
        break;
      case ev::ClaimSubmitted::kMemberIdFieldNumber:
        member = f.bytes;
        break;
      case ev::ClaimSubmitted::kCoverageFieldNumber:
        ints_ok = ints_ok && Int32(f, &coverage);
        break;
      case ev::ClaimSubmitted::kIncidentDateFieldNumber:
        incident = f.bytes;
        break;
      case ev::ClaimSubmitted::kDateFieldNumber:
        date = f.bytes;
        break;
      case ev::ClaimSubmitted::kAmountFenFieldNumber:
        in.amount = static_cast<Fen>(f.varint);
        break;
      case ev::ClaimSubmitted::kConditionCodeFieldNumber:
        in.condition_code.assign(f.bytes);
        break;
      case ev::ClaimSubmitted::kCauseFieldNumber:
        in.cause.assign(f.bytes);
        break;
      case ev::ClaimSubmitted::kChildIdFieldNumber:
        in.child_id.assign(f.bytes);
        break;
      case ev::ClaimSubmitted::kChildBirthDateFieldNumber:
        child_birth = f.bytes;
        break;
      case ev::ClaimSubmitted::kDocumentsFieldNumber:
        in.documents.emplace_back(f.bytes);
        break;
      case ev::ClaimSubmitted::kPlanIdFieldNumber:
        plan_id = f.bytes;
        break;
      default:
        break;
    }
  });
  if (!parsed || !ints_ok || claim.empty() || member.empty()) return false;
  in.coverage = codec::CoverageFromProto(coverage);
  const std::optional<Date> incident_date = RequiredDate(incident);
  const std::optional<Date> submitted = RequiredDate(date);
  if (in.coverage == domain::Coverage::kUnspecified || !incident_date || !submitted) return false;
  if (!child_birth.empty()) {
    in.child_birth_date = Date::Parse(child_birth);
    if (!in.child_birth_date) return false;
  }
  in.claim = std::string(claim);
  in.member = std::string(member);
  in.incident_date = *incident_date;
  in.date = *submitted;
  input = std::move(in);
  return true;
}

bool DecodeReviewed(std::string_view payload, domain::Input& input, std::string_view& plan_id) {
  std::string_view claim, member, date;
  int action = 0;
  bool ints_ok = true;
  const bool parsed = ReadPayload<ev::ReviewRecorded>(payload, [&](const Field& f) {
    switch (f.number) {
      case ev::ReviewRecorded::kClaimIdFieldNumber:
        claim = f.bytes;
        break;
      case ev::ReviewRecorded::kMemberIdFieldNumber:
        member = f.bytes;
        break;
      case ev::ReviewRecorded::kDateFieldNumber:
        date = f.bytes;
        break;
      case ev::ReviewRecorded::kActionFieldNumber:
        ints_ok = ints_ok && Int32(f, &action);
        break;
      case ev::ReviewRecorded::kPlanIdFieldNumber:
        plan_id = f.bytes;
        break;
      default:
        break;
    }
  });
  const std::optional<Date> d = RequiredDate(date);
  if (!parsed || !ints_ok || claim.empty() || !d) return false;
  domain::ReviewInput in;
  if (action == ev::ReviewRecorded::APPROVE) {
    in.action = domain::ReviewAction::kApprove;
  } else if (action == ev::ReviewRecorded::DENY) {
    in.action = domain::ReviewAction::kDeny;
  } else {
    return false;
  }
  in.claim = std::string(claim);
  in.member = std::string(member);
  in.date = *d;
  input = std::move(in);
  return true;
}

bool DecodeAppealed(std::string_view payload, domain::Input& input, std::string_view& plan_id) {
  std::string_view claim, member, date;
  const bool parsed = ReadPayload<ev::ClaimAppealed>(payload, [&](const Field& f) {
    switch (f.number) {
      case ev::ClaimAppealed::kClaimIdFieldNumber:
        claim = f.bytes;
        break;
      case ev::ClaimAppealed::kMemberIdFieldNumber:
        member = f.bytes;
        break;
      case ev::ClaimAppealed::kDateFieldNumber:
        date = f.bytes;
        break;
      case ev::ClaimAppealed::kPlanIdFieldNumber:
        plan_id = f.bytes;
        break;
      default:
        break;
    }
  });
  const std::optional<Date> d = RequiredDate(date);
  if (!parsed || claim.empty() || !d) return false;
  input = domain::AppealInput{std::string(claim), std::string(member), *d};
  return true;
}

void PutDate(std::string& out, uint32_t number, Date d) { PutBytes(out, number, d.ToString()); }

void EncodeDecision(const domain::Decision& d, const EnvelopeView& input, std::string& out) {
  using M = ev::ClaimDecided;
  PutBytes(out, M::kClaimIdFieldNumber, d.claim);
  PutBytes(out, M::kMemberIdFieldNumber, d.member);
  PutInt(out, M::kCoverageFieldNumber, codec::CoverageToProto(d.coverage));
  PutDate(out, M::kIncidentDateFieldNumber, d.incident_date);
  PutInt(out, M::kOutcomeFieldNumber, codec::OutcomeToProto(d.outcome));
  PutInt(out, M::kPayableFenFieldNumber, d.payable);
  PutInt(out, M::kCondolenceFenFieldNumber, d.condolence);
  if (!d.reasons.empty()) {  // packed, as proto3 repeated enums are
    size_t size = 0;
    for (domain::Reason r : d.reasons) {
      size += wire::VarintSize(static_cast<uint64_t>(int64_t{codec::ReasonToProto(r)}));
    }
    wire::PutTag(out, M::kReasonsFieldNumber, wire::WireType::kLengthDelimited);
    wire::PutVarint(out, size);
    for (domain::Reason r : d.reasons) {
      wire::PutVarint(out, static_cast<uint64_t>(int64_t{codec::ReasonToProto(r)}));
    }
  }
  for (const std::string& line : d.trace) {  // every element, empty ones too
    wire::PutTag(out, M::kTraceFieldNumber, wire::WireType::kLengthDelimited);
    wire::PutVarint(out, line.size());
    out += line;
  }
  PutInt(out, M::kRevisionFieldNumber, d.revision);
  PutDate(out, M::kDecidedOnFieldNumber, d.decided_on);
  PutBytes(out, M::kPlanIdFieldNumber, d.plan_id);
  PutBytes(out, M::kPlanSha256FieldNumber, d.plan_sha256);
  PutBytes(out, M::kInputEventIdFieldNumber, input.event_id);
  PutBytes(out, M::kInputSha256FieldNumber, input.payload_sha256);
  PutBytes(out, M::kCauseTypeFieldNumber, domain::Name(d.cause));
}

void EncodeRejection(const domain::InputRejection& r, const EnvelopeView& input, std::string& out) {
  using M = ev::InputRejected;
  PutBytes(out, M::kMemberIdFieldNumber, r.member);
  PutBytes(out, M::kInputEventIdFieldNumber, input.event_id);
  PutBytes(out, M::kInputSha256FieldNumber, input.payload_sha256);
  PutBytes(out, M::kInputTypeFieldNumber, input.type);
  PutBytes(out, M::kCodeFieldNumber, domain::Name(r.code));
  PutBytes(out, M::kDetailFieldNumber, r.detail);
  PutBytes(out, M::kClaimIdFieldNumber, r.claim);
  PutBytes(out, M::kPlanIdFieldNumber, r.plan_id);
  PutBytes(out, M::kPlanSha256FieldNumber, r.plan_sha256);
}

}  // namespace

bool ReadEnvelope(std::string_view bytes, EnvelopeView& e) {
  static const wire::Schema& schema = wire::Schema::For(ev::Envelope::descriptor());
  e = EnvelopeView{};
  wire::Reader reader(bytes);
  Field f;
  while (reader.Next(f)) {
    if (!schema.Accepts(f)) return false;
    switch (f.number) {
      case ev::Envelope::kEventIdFieldNumber:
        e.event_id = f.bytes;
        break;
      case ev::Envelope::kTypeFieldNumber:
        e.type = f.bytes;
        break;
      case ev::Envelope::kMemberIdFieldNumber:
        e.member_id = f.bytes;
        break;
      case ev::Envelope::kBusinessDateFieldNumber:
        e.business_date = f.bytes;
        break;
      case ev::Envelope::kPayloadSha256FieldNumber:
        e.payload_sha256 = f.bytes;
        break;
      case ev::Envelope::kAnswersEventIdFieldNumber:
        e.answers_event_id = f.bytes;
        break;
      case ev::Envelope::kSequenceFieldNumber:
        e.sequence = f.varint;
        break;
      case ev::Envelope::kTraceIdFieldNumber:
        e.trace_id = f.bytes;
        break;
      case ev::Envelope::kPayloadFieldNumber:
        e.payload = f.bytes;
        break;
      default:
        break;
    }
  }
  return reader.ok();
}

bool DecodeInputFast(const EnvelopeView& envelope, domain::Input& input,
                     std::string_view& plan_id) {
  plan_id = {};
  if (crypto::AsBytes(crypto::Sha256(envelope.payload)) != envelope.payload_sha256) return false;
  const std::string_view type = envelope.type;
  bool decoded = false;
  if (type == codec::kMemberEnrolled) {
    decoded = DecodeEnrolled(envelope.payload, input);
  } else if (type == codec::kClaimSubmitted) {
    decoded = DecodeSubmitted(envelope.payload, input, plan_id);
  } else if (type == codec::kReviewRecorded) {
    decoded = DecodeReviewed(envelope.payload, input, plan_id);
  } else if (type == codec::kClaimAppealed) {
    decoded = DecodeAppealed(envelope.payload, input, plan_id);
  } else if (type == codec::kMemberTerminated) {
    decoded = DecodeTerminated(envelope.payload, input);
  }
  if (!decoded) return false;
  const std::string& member = domain::MemberOf(input);
  return member.empty() || envelope.member_id.empty() || member == envelope.member_id;
}

void EncodeOutputFast(const domain::Output& output, const EnvelopeView& input, std::string& out,
                      crypto::Sha256Digest& payload_sha256, std::string& scratch) {
  assert(!output.empty());
  using E = ev::Envelope;
  scratch.clear();
  std::string_view type;
  std::string_view member;
  if (const auto* d = std::get_if<domain::Decision>(&output.body)) {
    EncodeDecision(*d, input, scratch);
    type = codec::kClaimDecided;
    member = d->member;
  } else {
    const auto& r = std::get<domain::InputRejection>(output.body);
    EncodeRejection(r, input, scratch);
    type = codec::kInputRejected;
    member = r.member;
  }
  payload_sha256 = crypto::Sha256(scratch);
  out.clear();
  // The event id is never empty ("<input>/out"); written by hand to avoid a temporary.
  wire::PutTag(out, E::kEventIdFieldNumber, wire::WireType::kLengthDelimited);
  wire::PutVarint(out, input.event_id.size() + 4);
  out += input.event_id;
  out += "/out";
  PutBytes(out, E::kTypeFieldNumber, type);
  PutInt(out, E::kSchemaVersionFieldNumber, 1);
  PutBytes(out, E::kMemberIdFieldNumber, member.empty() ? input.member_id : member);
  PutBytes(out, E::kBusinessDateFieldNumber, input.business_date);
  PutBytes(out, E::kProducerFieldNumber, "adjudication");
  PutBytes(out, E::kPayloadSha256FieldNumber, crypto::AsBytes(payload_sha256));
  PutBytes(out, E::kAnswersEventIdFieldNumber, input.event_id);
  PutBytes(out, E::kAnswersSha256FieldNumber, input.payload_sha256);
  PutInt(out, E::kSequenceFieldNumber, static_cast<int64_t>(output.sequence));
  PutBytes(out, E::kTraceIdFieldNumber, input.trace_id);
  PutBytes(out, E::kPayloadFieldNumber, scratch);
}

}  // namespace claims::audit
