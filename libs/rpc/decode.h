#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <string_view>
#include <vector>

#include "libs/base/status.h"

namespace claims::rpc {

// Parses a message that gRPC handed over unparsed (a raw method). gRPC itself, when a request
// does not parse, answers INTERNAL (synchronous API) or UNIMPLEMENTED (callback API) without
// naming anything, and a client stream's reader just ends as if the client had finished. Here a
// message that does not parse is INVALID_ARGUMENT naming each string field that is not valid
// UTF-8 (proto3 refuses the whole message for one), or the message itself when its bytes are
// malformed.
Status Decode(const grpc::ByteBuffer& bytes, google::protobuf::Message& out);
Status Decode(std::string_view bytes, google::protobuf::Message& out);

// The string fields of `bytes`, the wire form of a `type`, that are not valid UTF-8, as field
// paths ("name", "documents[2]", "payee.name"), nested messages included. Stops quietly where the
// bytes are malformed.
std::vector<FieldViolation> InvalidUtf8Fields(std::string_view bytes,
                                              const google::protobuf::Descriptor& type);

// `message` as the bytes of a raw method's response.
grpc::ByteBuffer Encode(const google::protobuf::Message& message);

}  // namespace claims::rpc
