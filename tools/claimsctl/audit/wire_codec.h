#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libs/crypto/sha256.h"
#include "libs/domain/types.h"

// The audit's fast path through the event codec (libs/domain/codec/event_codec.h): decoding an
// input envelope and encoding the output adjudication publishes for it, straight from and to the
// wire bytes, without building protobuf messages. It never disagrees with the codec: a read
// returns false whenever protobuf might read the bytes differently or the codec would refuse
// them, and the caller then takes the codec's path; an encoding is protobuf's serialization of
// codec::EncodeOutput, byte for byte (wire_codec_test.cc holds both to it).
namespace claims::audit {

// The fields of an Envelope (proto/mutualaid/events/v1/envelope.proto). Views into the bytes
// read, or into strings the caller owns.
struct EnvelopeView {
  std::string_view event_id;
  std::string_view type;
  std::string_view member_id;
  std::string_view business_date;
  std::string_view payload_sha256;
  std::string_view answers_event_id;
  std::string_view trace_id;
  std::string_view payload;
  uint64_t sequence = 0;
};

// Reads `bytes` as an Envelope: true when protobuf surely parses them, and to these values.
bool ReadEnvelope(std::string_view bytes, EnvelopeView& envelope);

// codec::DecodeInput(envelope, &plan_id) from the wire: true, with `input` and `plan_id` (a view
// into the payload) exactly as the codec gives them, when the codec would decode the input.
// False when it would refuse it (a bad hash, type, payload or field) or might read it otherwise:
// then ask the codec, which also names what is wrong.
bool DecodeInputFast(const EnvelopeView& envelope, domain::Input& input, std::string_view& plan_id);

// Sets `out` to the bytes of codec::EncodeOutput(output, input) as protobuf serializes them, and
// `payload_sha256` to its payload's hash. `output` must not be empty. `scratch` is left holding
// the payload, which is the last field of `out`.
void EncodeOutputFast(const domain::Output& output, const EnvelopeView& input, std::string& out,
                      crypto::Sha256Digest& payload_sha256, std::string& scratch);

}  // namespace claims::audit
