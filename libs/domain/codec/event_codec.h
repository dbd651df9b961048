#pragma once

#include <string>

#include "libs/base/status.h"
#include "libs/domain/types.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"

// Events on the wire <-> domain values. The services, the processor and the auditor all decode
// and encode through here, so that one mapping decides what an event means.
namespace claims::codec {

// Payload type names, as they appear in Envelope.type and the Kafka "type" header.
inline constexpr char kMemberEnrolled[] = "mutualaid.events.v1.MemberEnrolled";
inline constexpr char kMemberTerminated[] = "mutualaid.events.v1.MemberTerminated";
inline constexpr char kClaimSubmitted[] = "mutualaid.events.v1.ClaimSubmitted";
inline constexpr char kClaimAppealed[] = "mutualaid.events.v1.ClaimAppealed";
inline constexpr char kReviewRecorded[] = "mutualaid.events.v1.ReviewRecorded";
inline constexpr char kClaimDecided[] = "mutualaid.events.v1.ClaimDecided";
inline constexpr char kInputRejected[] = "mutualaid.events.v1.InputRejected";

// Decodes an input envelope of intake.events.v1: checks the payload hash, parses the payload
// named by `type`, and maps it. INVALID_ARGUMENT with a field violation per bad field
// ("payload.incident_date", ...); DATA_LOSS when the payload does not match its hash.
Result<domain::Input> DecodeInput(const mutualaid::events::v1::Envelope& envelope);
// The same, also setting `*plan_id` to the plan version the input names (claims, appeals and
// reviews do; enrollments and terminations leave it empty), from the same parse of the payload.
Result<domain::Input> DecodeInput(const mutualaid::events::v1::Envelope& envelope,
                                  std::string* plan_id);

// Wraps a payload into an envelope: type, schema version 1, the payload bytes and their hash.
mutualaid::events::v1::Envelope Wrap(const std::string& type,
                                     const google::protobuf::MessageLite& payload);

// The envelope answering `input` with one output of the fold (a Decision or an InputRejection;
// the output must not be empty). Its id derives from the input's id, so re-publishing after a
// crash yields identical bytes; it carries the member's output sequence number.
mutualaid::events::v1::Envelope EncodeOutput(const domain::Output& output,
                                             const mutualaid::events::v1::Envelope& input);

// The wire form of an input, for tools and tests that produce input events (the load generator,
// replay fixtures): its payload, wrapped, with the given event id and plan id (for claims,
// appeals and reviews) and the member id; business date = the input's own date.
mutualaid::events::v1::Envelope EncodeInput(const domain::Input& input, const std::string& event_id,
                                            const std::string& plan_id);

mutualaid::events::v1::ClaimDecided ToProto(const domain::Decision& d);
mutualaid::events::v1::InputRejected ToProto(const domain::InputRejection& r);

}  // namespace claims::codec
